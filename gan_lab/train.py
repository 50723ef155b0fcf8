"""One training run from a composed config: build, check, fit, summarise."""

import json
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from pytorch_lightning.utilities import rank_zero_info, rank_zero_only

from gan_lab.callbacks import (
    AtomicCheckpointIO,
    Evaluation,
    ImagesPerSecond,
    LastCheckpoint,
    SampleGrid,
    StepProgressBar,
)
from gan_lab.classify import Classifier
from gan_lab.config import validate
from gan_lab.data import DataModule
from gan_lab.errors import ConfigError
from gan_lab.gan import GAN
from gan_lab.loggers import build_logger, finish_logger
from gan_lab.metrics import Evaluator
from gan_lab.models import GANNets


def build_model(cfg: DictConfig, datamodule: DataModule) -> GAN | Classifier:
    """A GAN when the model config builds a generator/discriminator pair, else a classifier.

    The dataset's label count goes into `cfg.model.num_classes`, so the saved run config rebuilds the model.
    """
    with open_dict(cfg):
        cfg.model.num_classes = datamodule.num_classes
    built = instantiate(cfg.model)(data_shape=datamodule.data_shape)
    optimizer = instantiate(cfg.optimizer)
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
        )
    return Classifier(built, optimizer=optimizer, lr=cfg.optimizer.lr)


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


def run(cfg: DictConfig) -> dict:
    """Train as `cfg` says; return (and write to <run folder>/metrics.json) the final metrics."""
    validate(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    out = Path(cfg.paths.output_dir)

    datamodule: DataModule = instantiate(cfg.dataset)
    model = build_model(cfg, datamodule)
    datamodule.prepare_data()
    datamodule.setup("fit")  # missing or empty data fails here, before any training

    steps = cfg.train.steps
    config = OmegaConf.to_container(cfg, resolve=True)
    throughput = ImagesPerSecond()
    callbacks = [throughput, StepProgressBar(steps)]
    evaluation = build_evaluation(cfg, datamodule, model, out) if isinstance(model, GAN) else None
    if isinstance(model, GAN):
        callbacks.append(SampleGrid(cfg.samples.every, steps, out / "samples"))
    if evaluation is not None:
        callbacks.append(evaluation)
    # Last, so that last.ckpt holds this step's evaluation too.
    callbacks.append(LastCheckpoint(cfg.checkpoint.every, steps, out / "checkpoints", config))
    logger = build_logger(cfg)
    # Every DataModule offers validation data; a GAN has no validation step and that is expected.
    warnings.filterwarnings("ignore", message=r".*`val_dataloader` but have no `validation_step`")
    optimizer_steps_per_batch = model.n_critic + 1 if isinstance(model, GAN) else 1
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        max_steps=steps * optimizer_steps_per_batch,
        max_epochs=-1,
        callbacks=callbacks,
        logger=logger or False,
        plugins=[AtomicCheckpointIO()],
        default_root_dir=str(out),
        enable_checkpointing=False,  # gan_lab writes last.ckpt itself, counted in its own steps
        use_distributed_sampler=False,  # the ResumableSampler shards per rank itself
    )
    if logger is not None:
        logger.log_hyperparams(config)
    rank_zero_info(
        f"gan_lab | {cfg.experiment_name} | data {datamodule.name} {len(datamodule.train_set)} x "
        f"{'x'.join(map(str, datamodule.data_shape))} | {_describe(model)} | "
        f"{trainer.strategy.root_device.type} x {trainer.world_size}, precision {trainer.precision} | "
        f"{steps} steps | out {out}"
    )

    start = time.perf_counter()
    with ddp_job_scope(trainer):
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
        results = {k: float(v) for k, v in trainer.callback_metrics.items()}
        if isinstance(model, Classifier):
            datamodule.setup("test")
            results.update(
                {k: float(v) for k, v in trainer.test(model, datamodule, verbose=False)[0].items()}
            )
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
