"""The experiment logger from config: W&B (offline, or local files if it fails), sweep groups, run endings."""

import logging
import netrc
import os
from argparse import Namespace
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning_fabric.loggers.logger import _DummyExperiment
from omegaconf import DictConfig
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger
from pytorch_lightning.loggers.logger import rank_zero_experiment
from pytorch_lightning.utilities import rank_zero_info, rank_zero_only

log = logging.getLogger(__name__)


def lightning_lines_in_run_log() -> None:
    """Send Lightning's console lines, and with them gan_lab's one-line reports (`rank_zero_info`: the run
    summary, progress, scores, "done in"), to the run's log file too.

    Lightning, imported before Hydra sets up logging, gives its logger a console handler of its own and stops
    it propagating to the root logger, whose file handler writes the run folder's `train.log`. So this adds
    the root's file handlers to Lightning's logger, and drops those of earlier jobs of a --multirun.
    """
    lightning = logging.getLogger("pytorch_lightning")
    if lightning.propagate:  # Lightning found logging set up: its lines reach the root's handlers already
        return
    files = [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
    for handler in [h for h in lightning.handlers if isinstance(h, logging.FileHandler)]:
        if handler not in files:
            lightning.removeHandler(handler)
    for handler in files:
        if handler not in lightning.handlers:
            lightning.addHandler(handler)


def wandb_credentials_found() -> bool:
    """True when W&B could log in without asking: WANDB_API_KEY, or a `wandb login` entry in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def _sweep() -> tuple[str, int] | None:
    """(sweep folder name, job number) inside a --multirun job, else None."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    hydra = HydraConfig.get()
    return Path(hydra.sweep.dir).name, hydra.job.num


def _brief(error: BaseException) -> str:
    """`Type: first line`: W&B's messages run on for lines of advice."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


class FallbackWandbLogger(WandbLogger):
    """A WandbLogger that never stops training: when W&B fails (wandb.init times out on a dead network, the
    W&B process dies, ...), it says so once and sends every later call to a CSVLogger in the run folder.

    `init_timeout` (seconds) bounds the wait for wandb.init; W&B's own default is 90 s.
    """

    def __init__(self, *args: Any, init_timeout: float | None = None, **kwargs: Any) -> None:
        if init_timeout is not None and "settings" not in kwargs:
            import wandb

            kwargs["settings"] = wandb.Settings(init_timeout=init_timeout)
        super().__init__(*args, **kwargs)
        self.fallback: CSVLogger | None = None  # set on the first failure; everything goes there from then on
        self._params: dict | Namespace | None = None  # hyperparameters, for the fallback's hparams.yaml

    def _fall_back(self, error: Exception) -> None:
        self.fallback = CSVLogger(self.save_dir or ".", name="csv_fallback", version="")
        if self._params is not None:
            self.fallback.log_hyperparams(self._params)
        log.warning(
            "W&B failed (%s). Training goes on without it: metrics now go to %s; sample grids and videos are "
            "in the run folder's samples/ as always.",
            _brief(error),
            Path(self.fallback.log_dir) / "metrics.csv",
        )

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        if self.fallback is None:
            try:
                return super().experiment
            except Exception as error:  # wandb.init: network, credentials, timeout...
                self._fall_back(error)
        # The run W&B started, if any (finish_logger ends it); else a stand-in that ignores every call.
        return self._experiment if self._experiment is not None else _DummyExperiment()

    def _to_wandb(self, call: Callable, *args: Any, **kwargs: Any) -> bool:
        """Make a WandbLogger call unless W&B has failed; False when it has (now or before)."""
        if self.fallback is None:
            try:
                call(*args, **kwargs)
            except Exception as error:
                if self.fallback is None:  # (else `experiment` fell back already: creating the run failed)
                    self._fall_back(error)
        return self.fallback is None

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace) -> None:
        if not self._to_wandb(super().log_hyperparams, params):
            self.fallback.log_hyperparams(params)
        self._params = params  # after: a fallback made during this call has not logged them yet

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        if not self._to_wandb(super().log_metrics, metrics, step):
            # CSV holds numbers only; images and videos are files in samples/ already.
            numbers = {k: v for k, v in metrics.items() if isinstance(v, int | float | torch.Tensor)}
            if numbers:
                self.fallback.log_metrics(numbers, step)

    @rank_zero_only
    def log_image(self, key: str, images: list[Any], step: int | None = None, **kwargs: Any) -> None:
        self._to_wandb(super().log_image, key, images, step, **kwargs)  # (the files are in samples/ anyway)

    @rank_zero_only
    def log_video(self, key: str, videos: list[Any], step: int | None = None, **kwargs: Any) -> None:
        self._to_wandb(super().log_video, key, videos, step, **kwargs)

    @rank_zero_only
    def save(self) -> None:
        if self.fallback is not None:
            self.fallback.save()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if not self._to_wandb(super().finalize, status):
            self.fallback.finalize(status)


def _drop_run() -> None:
    """Let go of a W&B run that could not finish, so that the next --multirun job can start its own.

    Its process is likely dead: without teardown, the next wandb.init fails on the broken connection (and
    the exit prints a traceback); without clearing wandb.run, the next WandbLogger would reuse the dead run.
    """
    import wandb

    try:
        wandb.teardown()
    except Exception:
        pass  # (it raises, having forgotten the dead connection all the same)
    wandb.run = None


def build_logger(cfg: DictConfig) -> Logger | None:
    if not cfg.get("logger"):
        return None
    if not cfg.logger._target_.endswith("WandbLogger"):
        return instantiate(cfg.logger)
    sweep = _sweep()
    offline = (
        bool(cfg.logger.offline) or not wandb_credentials_found() or os.environ.get("WANDB_MODE") == "offline"
    )
    group = cfg.logger.group or (f"sweep-{sweep[0]}" if sweep else None)
    name = cfg.logger.name or (f"{cfg.experiment_name}-{sweep[1]}" if sweep else cfg.experiment_name)
    return instantiate(cfg.logger, offline=offline, group=group, name=name)


def finish_logger(logger: Logger | None, checkpoint: Path | None) -> None:
    """End the W&B run (so the next --multirun job starts its own), uploading the checkpoint when online.

    Nothing here raises: training is over and its results are on disk, whatever W&B does now.
    """
    if not isinstance(logger, WandbLogger):
        return
    import wandb

    fallback = getattr(logger, "fallback", None)
    if fallback is not None:  # W&B failed during the run: end what it started, upload nothing
        try:
            if logger._experiment is not None:
                logger._experiment.finish()
        except Exception:
            _drop_run()
        csv = Path(fallback.log_dir) / "metrics.csv"
        rank_zero_info(
            f"W&B failed during this run: its metrics from then on are in {csv}, samples in samples/."
        )
        return
    try:
        run = logger.experiment
        offline = run.settings.mode == "offline" or run.offline
        if not offline and checkpoint is not None and checkpoint.is_file():
            artifact = wandb.Artifact(f"model-{run.id}", type="model")
            artifact.add_file(str(checkpoint))
            run.log_artifact(artifact)
        run_dir = Path(run.dir).parent
        run.finish()
    except Exception as error:
        _drop_run()
        log.warning(
            "W&B could not finish this run (%s); its results are in the run folder all the same.",
            _brief(error),
        )
        return
    if offline:
        rank_zero_info(f"W&B ran offline. Upload this run later with: wandb sync {run_dir}")
