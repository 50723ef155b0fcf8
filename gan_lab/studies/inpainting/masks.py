"""Masks say which pixels of an image are known: a bool tensor (N, 1, H, W), True where the pixel is kept and
False in the hole to fill. One mask serves every channel."""

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from gan_lab.errors import ConfigError


def center_mask(n: int, size: int, side: float) -> Tensor:
    """A square hole in the middle, `side` times the image side (0.5: a quarter of the pixels)."""
    hole = round(side * size)
    start = (size - hole) // 2
    known = torch.ones(n, 1, size, size, dtype=torch.bool)
    known[..., start : start + hole, start : start + hole] = False
    return known


def random_mask(n: int, size: int, missing: float, seed: int) -> Tensor:
    """Each pixel dropped independently with probability `missing`, a new pattern per image."""
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed)) >= missing


def file_mask(path: Path, n: int, size: int) -> Tensor:
    """The same hole for every image, read from a mask image: white (>= 128 in grayscale) marks the hole."""
    if not path.is_file():
        raise ConfigError(f"mask={path}: no such file. Use center, random or a mask image (white: the hole).")
    with Image.open(path) as image:
        if image.size != (size, size):
            raise ConfigError(
                f"mask={path} is {image.size[0]}x{image.size[1]} pixels but the generator's images are "
                f"{size}x{size}: make the mask {size}x{size} (white: the hole, black: the known pixels)."
            )
        hole = torch.from_numpy(np.asarray(image.convert("L")) >= 128)
    return ~hole.expand(n, 1, size, size)


def make_mask(mask: str, n: int, size: int, center_side: float, random_missing: float, seed: int) -> Tensor:
    """The `known` mask of `n` images of `size` x `size` for `mask` = center | random | PATH, checked to leave
    each image both a hole and some known pixels."""
    if mask == "center":
        if not 0 < center_side < 1:
            raise ConfigError(f"center_side={center_side}: use a fraction of the image side in (0, 1).")
        known = center_mask(n, size, center_side)
    elif mask == "random":
        if not 0 < random_missing < 1:
            raise ConfigError(f"random_missing={random_missing}: use a fraction of pixels in (0, 1).")
        known = random_mask(n, size, random_missing, seed)
    else:
        known = file_mask(Path(mask).expanduser(), n, size)
    counts = known.flatten(1).sum(1)
    if (counts == size * size).any():
        raise ConfigError(
            f"mask={mask} covers no pixel of image {int((counts == size * size).nonzero()[0])}: there is "
            "nothing to inpaint. Mark a hole (white in a mask file; a larger center_side or random_missing)."
        )
    if (counts == 0).any():
        raise ConfigError(
            f"mask={mask} covers every pixel of image {int((counts == 0).nonzero()[0])}: no known pixel is "
            "left to condition on. Leave part of the image visible (black in a mask file)."
        )
    return known
