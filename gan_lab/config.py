"""Where the configs live, and the checks that reject values that cannot work before any long work starts."""

import os
from pathlib import Path

from omegaconf import DictConfig

from gan_lab.errors import ConfigError

PRECISIONS = (32, "32", "32-true", "bf16-mixed", "16-mixed")


def config_dir() -> Path:
    """conf/ inside an installed wheel (gan_lab/conf), else the source checkout's top-level conf/."""
    package = Path(__file__).resolve().parent
    packaged = package / "conf"
    return packaged if packaged.is_dir() else package.parent / "conf"


def cache_dir() -> Path:
    """Where derived files go (unpacked IDX, real-data features): $GAN_LAB_CACHE, else ~/.cache/gan_lab."""
    base = os.environ.get("GAN_LAB_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "gan_lab"
    return Path(base).expanduser()


def _require(ok: bool, key: str, value, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} cannot work: {allowed}.")


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first key whose value cannot work."""
    train = cfg.train
    _require(
        isinstance(train.steps, int) and train.steps > 0, "train.steps", train.steps, "use a positive integer"
    )
    _require(
        isinstance(train.n_critic, int) and train.n_critic >= 1,
        "train.n_critic",
        train.n_critic,
        "use an integer >= 1",
    )
    for key in ("lr_g", "lr_d"):
        _require(train[key] > 0, f"train.{key}", train[key], "use a positive learning rate")
    _require(
        train.grad_clip is None or train.grad_clip > 0, "train.grad_clip", train.grad_clip, "use null or > 0"
    )
    batch_size = cfg.dataset.batch_size
    _require(
        isinstance(batch_size, int) and batch_size > 0,
        "dataset.batch_size",
        batch_size,
        "use a positive integer",
    )
    precision = cfg.trainer.precision
    _require(
        precision in PRECISIONS,
        "trainer.precision",
        precision,
        f"use one of {', '.join(map(str, PRECISIONS))}",
    )
    _require(cfg.samples.num > 0, "samples.num", cfg.samples.num, "use a positive integer")
    for key in ("samples.every", "checkpoint.every"):
        every = cfg.samples.every if key == "samples.every" else cfg.checkpoint.every
        _require(
            every is None or (isinstance(every, int) and every > 0),
            key,
            every,
            "use null or a positive integer",
        )
