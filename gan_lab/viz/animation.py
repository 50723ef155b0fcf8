"""Videos of a generator: a run's sample grids over training, slerp walks through its latent space, and the
clips of a video generator as one grid video."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid

PROGRESS_FPS = 4  # one sample grid a frame: slow enough to see each
CLIP_FPS = 8  # generated clips: Moving MNIST's digits move a few pixels a frame


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """The point a fraction `t` of the way from `a` to `b`: the direction moves along the great circle, the
    length linearly from |a| to |b| (so it never leaves the shell where Gaussian noise lives, as a straight
    line would). Vectors lie along the last dimension; `t` is a number or broadcasts as shape (..., 1)."""
    norm_a, norm_b = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    unit_a, unit_b = a / norm_a, b / norm_b
    angle = (unit_a * unit_b).sum(-1, keepdim=True).clamp(-1, 1).acos()
    sin = angle.sin()
    t = torch.as_tensor(t, dtype=a.dtype)
    # Parallel directions: no arc to follow, and sin(t * angle) / sin(angle) would be 0 / 0.
    straight = sin < 1e-6
    sin = torch.where(straight, 1.0, sin)
    weight_a = torch.where(straight, 1 - t, ((1 - t) * angle).sin() / sin)
    weight_b = torch.where(straight, t, (t * angle).sin() / sin)
    return (weight_a * unit_a + weight_b * unit_b) * ((1 - t) * norm_a + t * norm_b)


def latent_walk(codes: torch.Tensor, frames: int) -> torch.Tensor:
    """Noise of shape (frames, n, nz) that takes each of n walks through `codes` (stops, n, nz) in turn and
    back towards the first, one leg per stop; the frame after the last would be the first: the video loops."""
    stops = len(codes)
    position = torch.arange(frames, dtype=codes.dtype) * stops / frames
    leg = position.floor().long()
    t = (position - leg)[:, None, None]
    return slerp(codes[leg], codes[(leg + 1) % stops], t)


def grid_frame(images: torch.Tensor, nrow: int) -> np.ndarray:
    """Images in [-1, 1] as one uint8 RGB frame, laid out as `gan_lab.samples.save_samples` lays a grid."""
    grid = make_grid(images, nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)
    return grid.mul(255).add(0.5).clamp(0, 255).byte().permute(1, 2, 0).numpy()


def clip_frames(clips: torch.Tensor, nrow: int = 4) -> list[np.ndarray]:
    """Clips (N, C, T, H, W) in [-1, 1] as T grid frames: frame t shows each clip's frame t, `nrow` a row."""
    return [grid_frame(clips[:, :, t], nrow) for t in range(clips.shape[2])]


def sample_grids(samples_dir: Path) -> list[Path]:
    """The `step_NNNNNN.png` grids that `gan_lab.callbacks.SampleGrid` wrote, in step order."""
    return sorted(Path(samples_dir).glob("step_[0-9]*.png"))


def progress_frames(grids: list[Path]) -> list[np.ndarray]:
    """One RGB frame per grid, its step in the top-left corner, all padded to the largest grid's size."""
    frames = []
    for path in grids:
        image = Image.open(path).convert("RGB")
        draw = ImageDraw.Draw(image)
        font = ImageFont.load_default(size=max(10, image.height // 24))
        text = f"step {int(path.stem.removeprefix('step_'))}"
        _, _, right, bottom = draw.textbbox((2, 2), text, font=font)
        draw.rectangle((0, 0, right + 2, bottom + 2), fill="black")
        draw.text((2, 2), text, fill="white", font=font)
        frames.append(np.asarray(image))
    height, width = max(f.shape[0] for f in frames), max(f.shape[1] for f in frames)
    return [_pad(f, height, width) for f in frames]


def _pad(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Grow `frame` at the bottom and right by repeating its edge (a grid's border, a plot's white)."""
    extra = ((0, height - frame.shape[0]), (0, width - frame.shape[1]), (0, 0))
    return np.pad(frame, extra, mode="edge")


def write_video(frames: list[np.ndarray], out: Path, fps: float) -> tuple[Path, Path]:
    """Write same-sized uint8 RGB `frames` as `out`.gif (looping) and `out`.mp4; return both paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    gif, mp4 = out.with_suffix(".gif"), out.with_suffix(".mp4")
    iio.imwrite(gif, np.stack(frames), plugin="pillow", duration=1000 / fps, loop=0)
    height, width = frames[0].shape[:2]
    even = np.stack([_pad(f, height + height % 2, width + width % 2) for f in frames])  # yuv420p needs it
    # macro_block_size=1: the sides are even now; imageio would otherwise rescale them to multiples of 16.
    iio.imwrite(
        mp4, even, plugin="FFMPEG", fps=fps, codec="libx264", pixelformat="yuv420p", macro_block_size=1
    )
    return gif, mp4
