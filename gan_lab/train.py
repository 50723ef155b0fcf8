"""One training run from a composed config: build, check, fit, summarise."""

import functools
import json
import os
import sys
import time
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

from gan_lab.callbacks import (
    DivergenceGuard,
    Evaluation,
    ImagesPerSecond,
    LastCheckpoint,
    SampleGrid,
    StepProgressBar,
)
from gan_lab.checkpoint import check_fits, read_checkpoint, resume_path
from gan_lab.classify import Classifier
from gan_lab.config import validate
from gan_lab.data import DataModule
from gan_lab.errors import ConfigError, Diverged, Interrupted, Stopped
from gan_lab.gan import GAN
from gan_lab.loggers import build_logger, finish_logger
from gan_lab.metrics import Evaluator
from gan_lab.models import GANNets, uses_channels_last
from gan_lab.storage import AtomicCheckpointIO, check_writable, checkpoint_bytes


def build_model(cfg: DictConfig, datamodule: DataModule) -> GAN | Classifier:
    """A GAN when the model config builds a generator/discriminator pair, else a classifier.

    The dataset's label count goes into `cfg.model.num_classes`, so the saved run config rebuilds the model.
    """
    with open_dict(cfg):
        cfg.model.num_classes = datamodule.num_classes
    built = instantiate(cfg.model)(data_shape=datamodule.data_shape)
    optimizer = instantiate(cfg.optimizer)
    channels_last = uses_channels_last(cfg, datamodule.data_shape)
    speed_up(built, channels_last, cfg.train.compile)
    if isinstance(built, GANNets):
        return GAN(
            built,
            loss=instantiate(cfg.loss),
            optimizer=optimizer,
            lr_g=cfg.train.lr_g,
            lr_d=cfg.train.lr_d,
            n_critic=cfg.train.n_critic,
            grad_clip=cfg.train.grad_clip,
            num_samples=cfg.samples.num,
            seed=cfg.seed,
            channels_last=channels_last,
        )
    return Classifier(built, optimizer=optimizer, lr=cfg.optimizer.lr, channels_last=channels_last)


def speed_up(built: GANNets | torch.nn.Module, channels_last: bool, compile: bool) -> None:
    """The `train.channels_last` and `train.compile` switches, applied in place to the networks."""
    nets = [built.generator, built.discriminator] if isinstance(built, GANNets) else [built]
    if channels_last:
        for net in nets:
            net.to(memory_format=torch.channels_last)
    if compile:
        for net in nets:
            net.compile()  # in place: the state_dict keys, hence checkpoints, stay those of the plain module


def _parameters(module) -> str:
    return f"{sum(p.numel() for p in module.parameters()) / 1e6:.2f}M"


def _describe(model: GAN | Classifier) -> str:
    if isinstance(model, GAN):
        return f"G {_parameters(model.generator)} params, D {_parameters(model.discriminator)} params"
    return f"classifier {_parameters(model)} params"


def build_evaluation(cfg: DictConfig, datamodule: DataModule, model: GAN, out: Path) -> Evaluation | None:
    """The in-training evaluation callback, or None when there is nothing to compute."""
    if not cfg.metrics.names:
        return None
    evaluator = Evaluator(
        cfg.metrics,
        datamodule,
        cfg.eval.num_samples,
        cfg.eval.batch_size,
        cfg.eval.seed,
        conditional=model.num_classes > 0,
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


def resume_checkpoint(cfg: DictConfig, model: GAN | Classifier, out: Path) -> Path | None:
    """The checkpoint `ckpt_path` names, checked to be safe to load and to fit `model`, or None."""
    path = resume_path(cfg.ckpt_path, out)
    if path is None:
        if cfg.ckpt_path == "last":
            rank_zero_info(
                f"gan_lab | ckpt_path=last: no checkpoint in {out} yet, starting afresh "
                "(to resume an earlier run, pass its folder as hydra.run.dir)"
            )
        return None
    checkpoint, _ = read_checkpoint(path, key="ckpt_path")
    check_fits(checkpoint, model, cfg, path)
    return path


def slurm_without_requeue() -> list[SLURMEnvironment]:
    """Under SLURM, Lightning's own SIGUSR1 handler would checkpoint in the middle of a step; gan_lab's (in
    LastCheckpoint) finishes the step, writes last.ckpt, then requeues the job, which restarts the same
    command: with ckpt_path=last, it resumes."""
    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def build_trainer(
    cfg: DictConfig, model: GAN | Classifier, callbacks: list, logger: Logger | None, out: Path
) -> pl.Trainer:
    optimizer_steps_per_batch = model.n_critic + 1 if isinstance(model, GAN) else 1
    return instantiate(
        cfg.trainer,
        max_steps=cfg.train.steps * optimizer_steps_per_batch,
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
        f"{diverged}{gave_up}. {where}Lower train.lr_g/train.lr_d and {then}{rollback}.", diverged.step
    )


def fit(
    trainer: pl.Trainer,
    new_trainer: Callable[[], pl.Trainer],
    model: GAN | Classifier,
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
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
            return trainer
        except Interrupted as signalled:
            resume = f"Resume with: {resume_command(out)}"
            stopped = f"gan_lab: stopped by {signalled}; {last} holds it. {resume}"
            raise Stopped(stopped if trainer.is_global_zero else 1) from None  # said once, not per rank
        except Diverged as diverged:
            ckpt = last if last.is_file() else ckpt
            kept = f"{ckpt} (step {read_checkpoint(ckpt)[0]['gan_lab']['steps_done']})" if ckpt else None
            if cfg.train.on_divergence != "rollback" or ckpt is None or rollbacks == cfg.train.max_rollbacks:
                raise diverged_for_good(diverged, kept, rollbacks, out) from None
            rollbacks += 1
            rank_zero_warn(
                f"gan_lab | {diverged}: rolling back to {kept}, learning rates now "
                f"x{model.lr_scale * cfg.train.rollback_lr_factor:g} of the configured ones "
                f"(rollback {rollbacks} of at most {cfg.train.max_rollbacks})"
            )
            model.roll_back(cfg.train.rollback_lr_factor)
            trainer = new_trainer()


def run(cfg: DictConfig) -> dict:
    """Train as `cfg` says; return (and write to <run folder>/metrics.json) the final metrics."""
    validate(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    out = Path(cfg.paths.output_dir)

    datamodule: DataModule = instantiate(cfg.dataset)
    model = build_model(cfg, datamodule)
    check_writable(out, 3 * checkpoint_bytes(model))  # last.ckpt, its .partial while replaced, best.ckpt
    ckpt = resume_checkpoint(cfg, model, out)
    datamodule.prepare_data()
    datamodule.setup("fit")  # missing or empty data fails here, before any training

    steps = cfg.train.steps
    config = OmegaConf.to_container(cfg, resolve=True)
    throughput = ImagesPerSecond(steps)
    callbacks = [throughput, StepProgressBar(steps)]
    evaluation = build_evaluation(cfg, datamodule, model, out) if isinstance(model, GAN) else None
    if isinstance(model, GAN):
        # Before every callback that writes a checkpoint: a diverged network is never saved.
        callbacks.append(DivergenceGuard(cfg.checkpoint.every, cfg.eval.every, steps))
        callbacks.append(SampleGrid(cfg.samples.every, steps, out / "samples"))
    if evaluation is not None:
        callbacks.append(evaluation)
    # Last, so that last.ckpt holds this step's evaluation too.
    callbacks.append(LastCheckpoint(cfg.checkpoint.every, steps, out / "checkpoints", config))
    logger = build_logger(cfg)
    new_trainer = functools.partial(build_trainer, cfg, model, callbacks, logger, out)
    trainer = new_trainer()
    # Every DataModule offers validation data; a GAN has no validation step and that is expected.
    warnings.filterwarnings("ignore", message=r".*`val_dataloader` but have no `validation_step`")
    if logger is not None:
        logger.log_hyperparams(config)
    rank_zero_info(
        f"gan_lab | {cfg.experiment_name} | data {datamodule.name} {len(datamodule.train_set)} x "
        f"{'x'.join(map(str, datamodule.data_shape))} | {_describe(model)} | "
        f"{trainer.strategy.root_device.type} x {trainer.world_size}, precision {trainer.precision} | "
        f"{steps} steps | out {out}" + (f" | resuming {ckpt}" if ckpt else "")
    )

    start = time.perf_counter()
    try:
        with ddp_job_scope(trainer):
            trainer = fit(trainer, new_trainer, model, datamodule, cfg, out, ckpt)
            # "step" is the loggers' x-axis (GAN.training_step), not a metric: metrics.json has "steps".
            results = {k: float(v) for k, v in trainer.callback_metrics.items() if k != "step"}
            if isinstance(model, Classifier):
                datamodule.setup("test")
                results.update(
                    {k: float(v) for k, v in trainer.test(model, datamodule, verbose=False)[0].items()}
                )
    except BaseException:
        if rank_zero_only.rank == 0:  # end this run's W&B run, or the next --multirun job would reuse it
            finish_logger(logger, None)
        raise
    metrics = {
        "experiment": cfg.experiment_name,
        "steps": model.steps_done,
        "wall_time_s": round(time.perf_counter() - start, 2),
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
