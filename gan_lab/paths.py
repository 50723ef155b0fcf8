"""Where gan_lab's own files live: the config tree and the cache. A leaf: imports nothing from gan_lab."""

import os
from pathlib import Path


def config_dir() -> Path:
    """conf/ inside an installed wheel (gan_lab/conf), else the source checkout's top-level conf/."""
    package = Path(__file__).resolve().parent
    packaged = package / "conf"
    return packaged if packaged.is_dir() else package.parent / "conf"


def cache_dir() -> Path:
    """Where derived files go (unpacked IDX, real-data features): $GAN_LAB_CACHE, else ~/.cache/gan_lab."""
    base = os.environ.get("GAN_LAB_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "gan_lab"
    return Path(base).expanduser()
