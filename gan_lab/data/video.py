"""Clips: Moving MNIST (Srivastava et al. 2015), made on the fly from the MNIST files.

A clip is a tensor of shape (channels, frames, height, width) in [-1, 1]: the layout 3D convolutions take.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from gan_lab.data.images import MNISTDataModule
from gan_lab.errors import ConfigError

CANVAS = 64  # clips are drawn at 64 px; image_size=32 is the 64 px clip, area-downsampled
DIGIT = 28  # MNIST's side
FRAME_SIZES = (32, 64)
MAX_DIGITS = 3


class MovingDigits(Dataset):
    """Item i: `num_digits` MNIST digits bouncing off the walls of a 64 x 64 frame for `frames` frames,
    combined with a maximum (as Srivastava et al.'s generator does); the same for the same (seed, i).

    Each digit starts at a random place, moving in a random direction at a speed drawn from `speed` (pixels
    per frame at 64 px), and is reflected at the walls. The target is the digits read left to right as one
    number (two digits 3 and 7: 37), `10 ** num_digits` classes; `trajectory(i)` gives the ground truth.
    """

    def __init__(
        self,
        digits: Tensor,
        labels: Tensor,
        size: int,
        seed: int,
        frames: int,
        image_size: int,
        num_digits: int,
        speed: tuple[float, float],
    ) -> None:
        self.digits = (
            digits.float().div(255) if digits.dtype == torch.uint8 else digits
        )  # (N, 28, 28) in [0, 1]
        self.labels, self.size, self.seed = labels, size, seed
        self.frames, self.image_size, self.num_digits, self.speed = frames, image_size, num_digits, speed

    def __len__(self) -> int:
        return self.size

    def trajectory(self, index: int) -> dict[str, Tensor]:
        """Clip `index`'s ground truth: `digits` (num_digits,) indices into the MNIST split, `labels`
        (num_digits,) their classes, `positions` (frames, num_digits, 2) the (x, y) top-left corner of each
        digit in 64 px pixels, and `speeds` (num_digits,) in pixels per frame."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        k, room = self.num_digits, CANVAS - DIGIT
        picks = torch.randint(len(self.digits), (k,), generator=generator)
        start = torch.rand(k, 2, generator=generator) * room
        angle = torch.rand(k, generator=generator) * 2 * math.pi
        low, high = self.speed
        speeds = low + (high - low) * torch.rand(k, generator=generator)
        velocity = torch.stack([angle.cos(), angle.sin()], dim=1) * speeds[:, None]
        positions = [start]
        for _ in range(self.frames - 1):
            moved = positions[-1] + velocity
            # Reflected off the walls: past 0 or past `room`, the overshoot comes back and the velocity turns.
            below, above = moved < 0, moved > room
            moved = torch.where(below, -moved, torch.where(above, 2 * room - moved, moved))
            velocity = torch.where(below | above, -velocity, velocity)
            positions.append(moved)
        return {
            "digits": picks,
            "labels": self.labels[picks],
            "positions": torch.stack(positions),
            "speeds": speeds,
        }

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        truth = self.trajectory(index)
        canvas = torch.zeros(self.frames, CANVAS, CANVAS)
        corners = truth["positions"].round().long()
        for d, digit in enumerate(self.digits[truth["digits"]]):
            for t in range(self.frames):
                x, y = corners[t, d].tolist()
                window = canvas[t, y : y + DIGIT, x : x + DIGIT]
                torch.maximum(window, digit, out=window)
        if self.image_size != CANVAS:
            canvas = F.interpolate(canvas[:, None], size=self.image_size, mode="area")[:, 0]
        label = int("".join(str(c) for c in truth["labels"].tolist()))
        return canvas.mul(2).sub(1)[None], label


class MovingMNISTDataModule(MNISTDataModule):
    """Moving MNIST: clips of bouncing MNIST digits drawn on the fly from the local MNIST files (nothing is
    downloaded beyond MNIST itself). `num_samples` clips per split, the same every run: training clips move
    MNIST-train digits, test clips MNIST-test digits."""

    def __init__(
        self,
        num_samples: int,
        frames: int,
        digits: int,
        speed: tuple[float, float] | list[float],
        image_size: int,
        **kwargs,
    ) -> None:
        super().__init__(image_size=image_size, channels=1, **kwargs)
        if num_samples <= 0:
            raise ConfigError(f"dataset.num_samples={num_samples}: use a positive number of clips per split.")
        if not (isinstance(frames, int) and frames >= 2):
            raise ConfigError(f"dataset.frames={frames}: a clip needs 2 or more frames (MoCoGAN uses 16).")
        if image_size not in FRAME_SIZES:
            raise ConfigError(
                f"dataset.image_size={image_size}: Moving MNIST is drawn at 64 px; use 64, or 32 "
                "(area-downsampled)."
            )
        if not (isinstance(digits, int) and 1 <= digits <= MAX_DIGITS):
            raise ConfigError(f"dataset.digits={digits}: use 1 to {MAX_DIGITS} digits per clip.")
        low, high = _speed_range(speed)
        self.num_samples, self.frames, self.num_digits, self.speed = num_samples, frames, digits, (low, high)

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (1, self.frames, self.image_size, self.image_size)

    @property
    def num_classes(self) -> int:
        return 10**self.num_digits

    def load(self, split: str) -> MovingDigits:
        mnist = super().load(split)
        seed = self.seed + (split != "train")
        return MovingDigits(
            mnist.data, mnist.targets, self.num_samples, seed, self.frames, self.image_size, self.num_digits,
            self.speed,
        )  # fmt: skip


def _speed_range(speed) -> tuple[float, float]:
    """dataset.speed as (lowest, highest) pixels per frame at 64 px."""
    try:
        low, high = (float(v) for v in speed)
    except (TypeError, ValueError):
        low = high = math.nan
    room = CANVAS - DIGIT
    if not (0 <= low <= high <= room):
        raise ConfigError(
            f"dataset.speed={speed}: give [lowest, highest] pixels per frame at 64 px, "
            f"0 <= lowest <= highest <= {room}, e.g. [2, 5] (Srivastava et al.'s generator: [3.6, 3.6])."
        )
    return low, high
