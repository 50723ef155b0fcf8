"""One training run from a composed config: build, check, fit, summarise."""

import functools
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from pytorch_lightning.loggers import Logger
from pytorch_lightning.plugins.environments import SLURMEnvironment
from pytorch_lightning.utilities import rank_zero_info, rank_zero_only, rank_zero_warn
from pytorch_lightning.utilities.model_helpers import is_overridden

from gan_lab.config.validate import check_devices, validate
from gan_lab.data import DataModule
from gan_lab.errors import ConfigError, Diverged, Interrupted, Stopped
from gan_lab.metrics import Evaluator
from gan_lab.systems import System, build_system, read_checkpoint, steps_of
from gan_lab.systems.checkpoint import check_fits
from gan_lab.training.allocator import keep_freed_memory
from gan_lab.training.callbacks import (
    DivergenceGuard,
    Evaluation,
    ImagesPerSecond,
    LastCheckpoint,
    ProgressLines,
    RunClock,
    SampleGrid,
    StepBookkeeping,
    StepProgressBar,
)
from gan_lab.training.loggers import build_logger, finish_logger, lightning_lines_in_run_log
from gan_lab.training.storage import AtomicCheckpointIO, check_writable, checkpoint_bytes, resume_path


def build(cfg: DictConfig, datamodule: DataModule) -> System:
    """The system `cfg.system` names, for the dataset's sample shape and labels. The label count goes into
    `cfg.system.num_classes`, so that the saved run config rebuilds the same system."""
    with open_dict(cfg):
        cfg.system.num_classes = datamodule.num_classes
    return build_system(cfg, datamodule.data_shape, datamodule.num_classes)


def _parameters(module) -> str:
    return f"{sum(p.numel() for p in module.parameters()) / 1e6:.2f}M"


def _describe(system: System) -> str:
    return ", ".join(f"{name} {_parameters(net)} params" for name, net in system.networks.items())


def build_evaluation(cfg: DictConfig, datamodule: DataModule, system: System, out: Path) -> Evaluation | None:
    """The in-training evaluation callback, or None when there is nothing to compute."""
    if not cfg.metrics.names:
        return None
    evaluator = Evaluator(
        cfg.metrics,
        datamodule,
        cfg.eval.num_samples,
        cfg.eval.batch_size,
        cfg.eval.seed,
        conditional=system.num_classes > 0,
    )
    available = evaluator.produces()
    if not available:  # e.g. only Inception metrics, and no Inception weights: nothing to evaluate
        return None
    best = cfg.eval.best
    if best is not None and best not in available:
        if any(best.endswith(f"_{name}") for name in cfg.metrics.features):  # its extractor is missing
            best = None  # (and that was said): train on without best.ckpt
        else:
            raise ConfigError(
                f"eval.best={best!r} is not computed here: use null or one of {', '.join(available)}."
            )
    if rank_zero_only.rank == 0:  # real-data features now: errors before training, no wait in DDP later
        evaluator.prepare()
    return Evaluation(evaluator, cfg.eval.every, cfg.train.steps, out / "checkpoints", best)


@contextmanager
def ddp_job_scope(trainer: pl.Trainer) -> Iterator[None]:
    """Make one Hydra job own its DDP processes, then leave the launching process as it found it.

    Lightning starts ranks > 0 as `python -m gan_lab <sys.argv[1:]> hydra.run.dir=<hydra.run.dir>`. Under
    --multirun that would re-run the whole sweep in a fresh folder (lightning-hydra-template #393), so hand it
    this job's own overrides and folder instead. Afterwards, drop the process group and the LOCAL_RANK etc.
    that Lightning left in os.environ, or the next job of the sweep would think it is a child process.
    """
    saved_argv, saved_env = list(sys.argv), dict(os.environ)
    launching = trainer.world_size > 1 and "LOCAL_RANK" not in os.environ and HydraConfig.initialized()
    if launching:
        hydra = HydraConfig.get()
        sys.argv = [sys.argv[0], *hydra.overrides.task]
        with read_write(hydra), open_dict(hydra):
            hydra.run.dir = hydra.runtime.output_dir
    try:
        yield
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)


def resume_checkpoint(cfg: DictConfig, system: System, out: Path) -> Path | None:
    """The checkpoint `ckpt_path` names, checked to be safe to load and to fit `system`, or None."""
    path = resume_path(cfg.ckpt_path, out)
    if path is None:
        if cfg.ckpt_path == "last":
            rank_zero_info(
                f"gan_lab | ckpt_path=last: no checkpoint in {out} yet, starting afresh "
                "(to resume an earlier run, pass its folder as hydra.run.dir)"
            )
        return None
    checkpoint, _ = read_checkpoint(path, key="ckpt_path")
    check_fits(checkpoint, system, cfg, path)
    return path


def slurm_without_requeue() -> list[SLURMEnvironment]:
    """Under SLURM, Lightning's own SIGUSR1 handler would checkpoint in the middle of a step; gan_lab's (in
    LastCheckpoint) finishes the step, writes last.ckpt, then requeues the job, which restarts the same
    command: with ckpt_path=last, it resumes."""
    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def build_trainer(cfg: DictConfig, callbacks: list, logger: Logger | None, out: Path) -> pl.Trainer:
    return instantiate(
        cfg.trainer,
        max_steps=-1,  # the run's length is the system's own step count: StepBookkeeping stops it
        max_epochs=-1,
        callbacks=list(callbacks),  # the Trainer adds its own to the list it gets
        logger=logger or False,
        plugins=[AtomicCheckpointIO(), *slurm_without_requeue()],
        default_root_dir=str(out),
        enable_checkpointing=False,  # gan_lab writes last.ckpt itself, counted in its own steps
        use_distributed_sampler=False,  # the ResumableSampler shards per rank itself
    )


def resume_command(out: Path) -> str:
    """The command line that resumes this run in its own folder."""
    task = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else ["<the same overrides>"]
    kept = [o for o in task if not o.startswith(("ckpt_path=", "hydra.run.dir="))]
    return " ".join(["python -m gan_lab", *kept, "ckpt_path=last", f"hydra.run.dir={out}"])


def diverged_for_good(diverged: Diverged, kept: str | None, rollbacks: int, out: Path) -> Diverged:
    """The error that ends a diverged run: what went non-finite and when, what was kept, what to do now."""
    gave_up = f" (after {rollbacks} rollbacks, train.max_rollbacks)" if rollbacks else ""
    where = f"Last good checkpoint: {kept}, untouched. " if kept else "No checkpoint yet. "
    then = f"resume ({resume_command(out)})" if kept else "run again"
    rollback = "" if rollbacks else ", or set train.on_divergence=rollback"
    return Diverged(
        f"{diverged}{gave_up}. {where}Lower the learning rates (system.optimizers.<name>.lr) and "
        f"{then}{rollback}.",
        diverged.step,
    )


def fit(
    trainer: pl.Trainer,
    new_trainer: Callable[[], pl.Trainer],
    system: System,
    datamodule: DataModule,
    cfg: DictConfig,
    out: Path,
    ckpt: Path | None,
) -> pl.Trainer:
    """trainer.fit; after a divergence, rolled back to last.ckpt at lower learning rates if the config says so
    (on a `new_trainer()`: a trainer that raised is spent). Returns the trainer that finished.

    A signal (SIGTERM, SIGUSR1) ends the run as `Stopped`, with last.ckpt written and the way to resume.
    """
    last, rollbacks = out / "checkpoints" / "last.ckpt", 0
    while True:
        try:
            trainer.fit(system, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
            return trainer
        except Interrupted as signalled:
            resume = f"Resume with: {resume_command(out)}"
            stopped = f"gan_lab: stopped by {signalled}; {last} holds it. {resume}"
            raise Stopped(stopped if trainer.is_global_zero else 1) from None  # said once, not per rank
        except Diverged as diverged:
            ckpt = last if last.is_file() else ckpt
            kept = f"{ckpt} (step {steps_of(read_checkpoint(ckpt)[0])})" if ckpt else None
            if cfg.train.on_divergence != "rollback" or ckpt is None or rollbacks == cfg.train.max_rollbacks:
                raise diverged_for_good(diverged, kept, rollbacks, out) from None
            rollbacks += 1
            rank_zero_warn(
                f"gan_lab | {diverged}: rolling back to {kept}, learning rates now "
                f"x{system.lr_scale * cfg.train.rollback_lr_factor:g} of the configured ones "
                f"(rollback {rollbacks} of at most {cfg.train.max_rollbacks})"
            )
            system.roll_back(cfg.train.rollback_lr_factor)
            trainer = new_trainer()


def hide_warnings_that_ask_nothing_of_the_user() -> None:
    """Filter the library warnings that every run would print and no user can act on."""
    # Every DataModule offers validation data; a GAN has no validation step and that is expected.
    warnings.filterwarnings("ignore", message=r".*`val_dataloader` but have no `validation_step`")
    # Lightning 2.6 builds torch's LeafSpec, deprecated in torch 2.14: Lightning's to change, not the user's.
    warnings.filterwarnings(
        "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
    )


def run(cfg: DictConfig) -> dict:
    """Train as `cfg` says; return (and write to <run folder>/metrics.json) the final metrics."""
    lightning_lines_in_run_log()
    validate(cfg)
    check_devices(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    keep_freed_memory()  # no page faults for the memory each step frees and takes again (allocator.py)
    out = Path(cfg.paths.output_dir)

    datamodule: DataModule = instantiate(cfg.dataset)
    system = build(cfg, datamodule)
    check_writable(out, 3 * checkpoint_bytes(system))  # last.ckpt, its .partial while replaced, best.ckpt
    ckpt = resume_checkpoint(cfg, system, out)
    datamodule.prepare_data()
    datamodule.setup("fit")  # missing or empty data fails here, before any training

    steps = cfg.train.steps
    config = OmegaConf.to_container(cfg, resolve=True)
    throughput, clock = ImagesPerSecond(), RunClock()
    # Bookkeeping before the rest: it logs what the step returned (and this step's throughput), and stops
    # the run at its last step.
    callbacks = [clock, throughput, StepBookkeeping(steps, throughput), StepProgressBar(steps)]
    if not sys.stdout.isatty():  # the bar shows only at the end there: lines say how far the run is
        callbacks.append(ProgressLines(steps, throughput))
    # Before every callback that writes a checkpoint: a diverged network is never saved.
    callbacks.append(DivergenceGuard(cfg.checkpoint.every, cfg.eval.every, steps))
    if system.shows_visuals:
        callbacks.append(SampleGrid(cfg.samples.every, steps, out / "samples"))
    evaluated = system.generative or system.translates
    evaluation = build_evaluation(cfg, datamodule, system, out) if evaluated else None
    if evaluation is not None:
        callbacks.append(evaluation)
    # Last, so that last.ckpt holds this step's evaluation too.
    callbacks.append(LastCheckpoint(cfg.checkpoint.every, steps, out / "checkpoints", config))
    logger = build_logger(cfg)
    new_trainer = functools.partial(build_trainer, cfg, callbacks, logger, out)
    trainer = new_trainer()
    hide_warnings_that_ask_nothing_of_the_user()
    if logger is not None:
        logger.log_hyperparams(config)
    rank_zero_info(
        f"gan_lab | {cfg.experiment_name} | data {datamodule.name} {len(datamodule.train_set)} x "
        f"{'x'.join(map(str, datamodule.data_shape))} | {_describe(system)} | "
        f"{trainer.strategy.root_device.type} x {trainer.world_size}, precision {trainer.precision} | "
        f"{steps} steps | out {out}" + (f" | resuming {ckpt}" if ckpt else "")
    )

    try:
        with ddp_job_scope(trainer):
            trainer = fit(trainer, new_trainer, system, datamodule, cfg, out, ckpt)
            # "step" is the loggers' x-axis (StepBookkeeping), not a metric: metrics.json has "steps".
            results = {k: float(v) for k, v in trainer.callback_metrics.items() if k != "step"}
            if is_overridden("test_step", system):  # a system with a test split score reports it
                datamodule.setup("test")
                results.update(
                    {k: float(v) for k, v in trainer.test(system, datamodule, verbose=False)[0].items()}
                )
    except BaseException:
        if rank_zero_only.rank == 0:  # end this run's W&B run, or the next --multirun job would reuse it
            finish_logger(logger, None)
        raise
    metrics = {
        "experiment": cfg.experiment_name,
        "steps": system.steps_done,
        "wall_time_s": round(clock.seconds, 2),  # every session's, not this process's alone
        "images_per_sec": round(throughput.mean, 1),
        "final": results,
    }
    if evaluation is not None:
        metrics["eval"] = evaluation.history
        metrics["best"] = {"metric": evaluation.best, "value": evaluation.best_value}
    if trainer.is_global_zero:
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        finish_logger(logger, out / "checkpoints" / "last.ckpt")
    rank_zero_info(f"gan_lab | done in {metrics['wall_time_s']:.0f}s | outputs in {out}")
    return metrics
