"""Clips: Moving MNIST (Srivastava et al. 2015), made on the fly from the MNIST files, and clips cut from a
folder of videos (video files, or folders of frames).

A clip is a tensor of shape (channels, frames, height, width) in [-1, 1]: the layout 3D convolutions take.
"""

import hashlib
import json
import logging
import math
import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.transforms.functional import pil_to_tensor

from gan_lab.data.base import DataModule
from gan_lab.data.checks import files_fingerprint
from gan_lab.data.images import IMAGE_EXTENSIONS, MNISTDataModule, decode_transform, scale_transform
from gan_lab.errors import ConfigError, DataError
from gan_lab.paths import cache_dir

log = logging.getLogger(__name__)

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
        # (N, 28, 28) in [0, 1]
        self.digits = digits.float().div(255) if digits.dtype == torch.uint8 else digits
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

    def render(self, truth: dict[str, Tensor], times: list[int]) -> Tensor:
        """Frames `times` of the clip with ground truth `truth`, (1, len(times), size, size) in [-1, 1]."""
        canvas = torch.zeros(len(times), CANVAS, CANVAS)
        corners = truth["positions"].round().long()
        for d, digit in enumerate(self.digits[truth["digits"]]):
            for i, t in enumerate(times):
                x, y = corners[t, d].tolist()
                window = canvas[i, y : y + DIGIT, x : x + DIGIT]
                torch.maximum(window, digit, out=window)
        if self.image_size != CANVAS:
            canvas = F.interpolate(canvas[:, None], size=self.image_size, mode="area")[:, 0]
        return canvas.mul(2).sub(1)[None]

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        truth = self.trajectory(index)
        label = int("".join(str(c) for c in truth["labels"].tolist()))
        return self.render(truth, list(range(self.frames))), label


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


class FramesOf(Dataset):
    """Item i: one frame of clip i of a `MovingDigits` (frame i % frames: every position in time alike), with
    the digits it shows as a multi-hot target (10,): the training data of the video metrics' judge. A digit
    is shown when at least `min_ink` of its ink is not covered by the other digits' ink, so that a digit
    hidden behind another is not asked for."""

    def __init__(self, clips: MovingDigits, min_ink: float = 0.5) -> None:
        self.clips, self.min_ink = clips, min_ink

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        truth, t = self.clips.trajectory(index), index % self.clips.frames
        return self.clips.render(truth, [t])[:, 0], shown_digits(self.clips, truth, t, self.min_ink)


def shown_digits(clips: MovingDigits, truth: dict[str, Tensor], t: int, min_ink: float = 0.5) -> Tensor:
    """The multi-hot (10,) of the digits visible in frame `t` of the clip with ground truth `truth`: each
    digit whose ink (pixels above half intensity) is at least `min_ink` uncovered by the others' ink."""
    corners = truth["positions"][t].round().long()
    masks = torch.zeros(clips.num_digits, CANVAS, CANVAS, dtype=torch.bool)
    for d, digit in enumerate(clips.digits[truth["digits"]]):
        x, y = corners[d].tolist()
        masks[d, y : y + DIGIT, x : x + DIGIT] = digit > 0.5
    shown = torch.zeros(10)
    for d, label in enumerate(truth["labels"].tolist()):
        others = masks[torch.arange(clips.num_digits) != d].any(0)
        ink = masks[d].sum()
        if ink and (masks[d] & ~others).sum() >= min_ink * ink:
            shown[label] = 1
    return shown


class MovingMNISTFramesDataModule(MovingMNISTDataModule):
    """Frames of Moving MNIST's clips as images (1, size, size), one per clip, each with the digits it
    shows as a multi-hot target: what the video metrics' judge (experiment=judge_moving_mnist) reads."""

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (1, self.image_size, self.image_size)

    @property
    def num_classes(self) -> int:
        return 10

    def load(self, split: str) -> FramesOf:
        return FramesOf(super().load(split))


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


VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif"}
CLIP_CACHE_VERSION = 1  # bump when what the clip array holds changes, so old arrays are decoded again


def find_videos(root: Path) -> list[Path]:
    """Every video under `root`: video files, and folders holding frames (image files, in name order)."""
    if not root.is_dir():
        raise DataError(f"dataset.root={str(root)!r} is not a folder: point it at a folder of videos.")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
    folders = sorted(
        {p.parent for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS}
    )
    videos = files + folders
    if not videos:
        raise DataError(
            f"dataset.root={str(root)!r} holds no videos ({', '.join(sorted(VIDEO_EXTENSIONS))} files, or "
            "folders of frames): point dataset.root at the folder that holds them."
        )
    return videos


def read_frames(video: Path) -> list[Image.Image]:
    """The frames of a video file, or of a folder of frames (in name order), as PIL images."""
    if video.is_dir():
        frames = sorted(p for p in video.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        return [Image.open(p) for p in frames]
    return [Image.fromarray(frame) for frame in iio.imread(video, index=None)]


class ClipArray(Dataset):
    """Clips held as one uint8 array (N, C, T, H, W), in memory or memory-mapped; items scaled to [-1, 1],
    with target 0 (unlabelled)."""

    def __init__(self, clips: np.ndarray) -> None:
        self.clips = clips
        self.scale = scale_transform(clips.shape[1])

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        clip = torch.from_numpy(np.array(self.clips[index]))  # (C, T, H, W)
        return self.scale(clip.transpose(0, 1)).transpose(0, 1), 0


class VideoFolderDataModule(DataModule):
    """Clips of `frames` frames (every `stride`-th frame of the video) cut from every video under `root`:
    video files (read with imageio) or folders of frames. Each video gives as many clips as fit, end to end;
    every frame is resized and centre-cropped to `image_size` as the image datasets do. The clips are
    decoded once into a cache (cache_dir()/clips) that later runs memory-map.

    A video that cannot be read, or is shorter than one clip, is a bad file: `on_bad_file=error` stops
    before training, naming it; `skip` leaves it out with a warning. The test split is the training split.
    """

    def __init__(
        self,
        frames: int,
        image_size: int,
        channels: int,
        stride: int = 1,
        on_bad_file: str = "error",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not (isinstance(frames, int) and frames >= 2):
            raise ConfigError(f"dataset.frames={frames}: a clip needs 2 or more frames.")
        if not (isinstance(stride, int) and stride >= 1):
            raise ConfigError(f"dataset.stride={stride}: use 1 (every frame) or more (every n-th frame).")
        if channels not in (1, 3):
            raise ConfigError(f"dataset.channels={channels} cannot work: use 1 (grayscale) or 3 (RGB).")
        if on_bad_file not in ("error", "skip"):
            raise ConfigError(f"dataset.on_bad_file={on_bad_file!r}: use error or skip.")
        self.frames, self.image_size, self.channels, self.stride = frames, image_size, channels, stride
        self.on_bad_file = on_bad_file
        self._clips: ClipArray | None = None

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (self.channels, self.frames, self.image_size, self.image_size)

    def load(self, split: str) -> ClipArray:
        if self._clips is None:
            self._clips = ClipArray(self._decoded())
        return self._clips

    def clips_of(self, video: Path) -> np.ndarray:
        """Every clip of one video, (n, C, T, H, W) uint8; DataError when it holds none or cannot be read."""
        span = self.frames * self.stride
        try:
            frames = read_frames(video)
            if len(frames) < span:
                raise DataError(
                    f"{video} (too short: {len(frames)} frames; a clip takes {self.frames} frames x stride "
                    f"{self.stride} = {span})"
                )
            decode = decode_transform(self.image_size, self.channels)
            kept = [pil_to_tensor(decode(f)) for f in frames[: len(frames) // span * span : self.stride]]
        except DataError:
            raise
        except Exception as error:  # any failure to decode makes the video unusable
            first = (str(error).splitlines() or [""])[0]  # ffmpeg appends its whole log
            raise DataError(f"{video} (cannot be read: {type(error).__name__}: {first})") from None
        clips = torch.stack(kept).view(-1, self.frames, self.channels, self.image_size, self.image_size)
        return clips.transpose(1, 2).numpy()

    def _decoded(self) -> np.ndarray:
        """All clips under root: from the cache when the videos and settings are unchanged, else decoded."""
        videos = find_videos(self.root)
        files = [f for v in videos for f in (sorted(v.iterdir()) if v.is_dir() else [v])]
        settings = f"{CLIP_CACHE_VERSION} {self.data_shape} {self.stride} {self.on_bad_file}"
        fingerprint = files_fingerprint(self.root, files, settings)
        name = hashlib.sha1(str(self.root.resolve()).encode()).hexdigest()[:16]
        path = cache_dir() / "clips" / f"{name}.npy"
        header = path.with_suffix(".json")
        try:
            if json.loads(header.read_text())["fingerprint"] == fingerprint:
                return np.load(path, mmap_mode="r")
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no cache yet, or an unreadable one: decode again
        log.info("decoding the clips of %d videos once into %s", len(videos), path)
        clips, bad = [], []
        for video in videos:
            try:
                clips.append(self.clips_of(video))
            except DataError as error:
                bad.append(str(error))
        self._report(bad, len(videos))
        array = np.concatenate(clips)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
        np.save(partial, array)
        os.replace(partial, path)
        partial.with_suffix(".json").write_text(json.dumps({"fingerprint": fingerprint}))
        os.replace(partial.with_suffix(".json"), header)  # the header last: it vouches for the array
        return array

    def _report(self, bad: list[str], total: int) -> None:
        if not bad:
            return
        shown = "; ".join(bad[:3]) + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
        if len(bad) == total:
            raise DataError(f"no usable video in {self.root}: {shown}.")
        if self.on_bad_file == "error":
            raise DataError(
                f"{len(bad)} of {total} videos in {self.root} are bad: {shown}. Fix or remove them, or set "
                "dataset.on_bad_file=skip to train on the rest."
            )
        log.warning("skipping %d of %d bad videos (dataset.on_bad_file=skip): %s", len(bad), total, shown)
