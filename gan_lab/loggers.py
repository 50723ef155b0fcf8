"""The experiment logger from config, with W&B's offline fallback, sweep groups and clean run endings."""

import netrc
import os
from pathlib import Path
from urllib.parse import urlparse

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig
from pytorch_lightning.loggers import Logger, WandbLogger
from pytorch_lightning.utilities import rank_zero_info


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
    """End the W&B run (so the next --multirun job starts its own), uploading the checkpoint when online."""
    if not isinstance(logger, WandbLogger):
        return
    import wandb

    run = logger.experiment
    offline = run.settings.mode == "offline" or run.offline
    if not offline and checkpoint is not None and checkpoint.is_file():
        artifact = wandb.Artifact(f"model-{run.id}", type="model")
        artifact.add_file(str(checkpoint))
        run.log_artifact(artifact)
    run_dir = Path(run.dir).parent
    run.finish()
    if offline:
        rank_zero_info(f"W&B ran offline. Upload this run later with: wandb sync {run_dir}")
