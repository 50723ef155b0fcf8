"""The checks that reject a config that cannot work before any data is loaded: unknown keys and wrong types
(against gan_lab/config/schema.py and each `_target_`'s signature), impossible values, hardware it needs.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from gan_lab.config.schema import check_schema, check_targets
from gan_lab.errors import ConfigError
from gan_lab.metrics.evaluator import METRICS
from gan_lab.metrics.modes import OUTPUTS
from gan_lab.metrics.scores import IMAGE_METRICS, image_metric_names
from gan_lab.metrics.translation import translation_metric_names
from gan_lab.metrics.video import VIDEO_OUTPUTS

PRECISIONS = (32, "32", "32-true", "bf16-mixed", "16-mixed")
ON_DIVERGENCE = ("stop", "rollback")
REAL_SPLITS = ("train", "test")
FEATURES = ("classifier", "encoder", "inception")

log = logging.getLogger(__name__)


def _require(ok: bool, key: str, value, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} cannot work: {allowed}.")


@contextmanager
def _key_named() -> Iterator[None]:
    """OmegaConf's own errors (a bad interpolation, a value that is not of its key's type) as a ConfigError
    naming the key, so that they too reach the user as one line."""
    try:
        yield
    except OmegaConfBaseException as error:
        raise ConfigError(f"{error.full_key}: {str(error.msg).splitlines()[0]}") from None


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first key that is unknown, of the wrong type, or whose value cannot work.

    Cheap and before any data loading: names, types and values only, nothing is built or read.
    """
    with _key_named():
        check_schema(cfg)
        check_targets(cfg)
        missing = sorted(OmegaConf.missing_keys(cfg))
        if missing:
            raise ConfigError(f"{missing[0]} has no value: set it, e.g. {missing[0]}=...")
        _check_training(cfg)
        _check_outputs(cfg)
        _check_metrics(cfg)


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_training(cfg: DictConfig) -> None:
    train = cfg.train
    _require(_positive_int(train.steps), "train.steps", train.steps, "use a positive integer")
    _require(
        train.on_divergence in ON_DIVERGENCE,
        "train.on_divergence",
        train.on_divergence,
        f"use {' or '.join(ON_DIVERGENCE)}",
    )
    _require(
        0 < train.rollback_lr_factor < 1,
        "train.rollback_lr_factor",
        train.rollback_lr_factor,
        "use a factor between 0 and 1 (each rollback lowers the learning rates)",
    )
    _require(train.max_rollbacks >= 0, "train.max_rollbacks", train.max_rollbacks, "use an integer >= 0")
    batch_size = cfg.dataset.batch_size
    _require(_positive_int(batch_size), "dataset.batch_size", batch_size, "use a positive integer")
    precision = cfg.trainer.precision
    _require(
        precision in PRECISIONS,
        "trainer.precision",
        precision,
        f"use one of {', '.join(map(str, PRECISIONS))}",
    )


def check_devices(cfg: DictConfig) -> None:
    """Whether this machine can run the trainer settings. A GPU setting on a machine without one fails inside
    Lightning with a traceback, or (16-mixed on a CPU) runs something else than asked without a word: both
    are said here, with the setting that works. Apart from `validate`, which judges the config alone."""
    accelerator, precision = cfg.trainer.accelerator, str(cfg.trainer.precision)
    gpus = torch.cuda.is_available()
    if accelerator in ("gpu", "cuda") and not gpus:
        raise ConfigError(
            f"trainer.accelerator={accelerator}: this machine has no GPU that torch can use. For DDP over "
            "CPU processes use trainer=ddp_cpu; for one process, trainer=default."
        )
    on_cpu = accelerator == "cpu" or (
        accelerator == "auto" and not gpus and not torch.backends.mps.is_available()
    )
    if precision == "16-mixed" and on_cpu:
        raise ConfigError(
            "trainer.precision=16-mixed needs a GPU (fp16 autocast with a gradient scaler); on this CPU use "
            f"trainer.precision={'bf16-mixed or 32' if cpu_has_bf16() else '32'}."
        )
    if precision.startswith("bf16") and on_cpu and not cpu_has_bf16():
        capability = torch.backends.cpu.get_cpu_capability()
        log.warning(
            f"trainer.precision={precision}: this CPU ({capability}) has no bf16 instructions (AVX512-BF16 "
            "or AMX), so bf16 is emulated: a DCGAN-64 step took 30x as long as in fp32 on such a CPU "
            "(README, Performance). Use trainer.precision=32 here."
        )


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (oneDNN's test: AVX512-BF16 or AMX); without it, bf16 autocast
    emulates every convolution."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _check_outputs(cfg: DictConfig) -> None:
    _require(cfg.samples.num > 0, "samples.num", cfg.samples.num, "use a positive integer")
    for section in ("samples", "checkpoint", "eval"):
        every = cfg[section].every
        _require(
            every is None or every > 0,
            f"{section}.every",
            every,
            "use null (only at the end) or a positive integer",
        )
    for key in ("num_samples", "batch_size"):
        _require(cfg.eval[key] > 0, f"eval.{key}", cfg.eval[key], "use a positive integer")


def _check_metrics(cfg: DictConfig) -> None:
    metrics = cfg.metrics
    for name in metrics.names:
        _require(name in METRICS, "metrics.names", list(metrics.names), f"choose from {', '.join(METRICS)}")
    for name in metrics.features:
        _require(
            name in FEATURES, "metrics.features", list(metrics.features), f"choose from {', '.join(FEATURES)}"
        )
    _require(metrics.real_split in REAL_SPLITS, "metrics.real_split", metrics.real_split, "use train or test")
    _require(metrics.pr_k >= 1, "metrics.pr_k", metrics.pr_k, "use an integer >= 1")
    # Every name an evaluation could report; which of them a run does report (its extractors may be missing)
    # is only known once the evaluator is built, and train.py checks eval.best again then.
    reported = [out for name in metrics.names for out in OUTPUTS.get(name, ())]
    reported += ["conditional_accuracy"] if "conditional_accuracy" in metrics.names else []
    reported += list(VIDEO_OUTPUTS) if "video" in metrics.names else []
    if "translation" in metrics.names:
        reported += [
            out for feature in metrics.features for out in translation_metric_names(feature, True, True)
        ]
    reported += [
        out
        for name in metrics.names
        if name in IMAGE_METRICS
        for feature in metrics.features
        for out in image_metric_names(name, feature)
    ]
    for key in ("best", "objective"):
        name = cfg.eval[key]
        if name is not None and name not in reported:  # worded as train.py's later check
            allowed = f"null or one of {', '.join(reported)}" if reported else "null: metrics.names is empty"
            raise ConfigError(f"eval.{key}={name!r} is not computed here: use {allowed}.")
