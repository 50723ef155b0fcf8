"""Pictures of what a generator makes: an image grid, or real vs generated points for 2D data."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torchvision.utils import save_image  # noqa: E402


def grid_width(num_classes: int) -> int:
    """Images per grid row. Sample i of a conditional grid is of class i % num_classes, so 3-16 classes get
    one column per class; 2 classes alternate by column in the usual 8."""
    return num_classes if 3 <= num_classes <= 16 else 8


def save_samples(fake: torch.Tensor, real: torch.Tensor, path: Path, title: str = "", nrow: int = 8) -> Path:
    """Write `fake` as a PNG at `path`: an `nrow`-wide image grid, or for 2D points a scatter over `real`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fake, real = fake.detach().float().cpu(), real.detach().float().cpu()
    if fake.dim() == 2:
        fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
        ax.scatter(real[:, 0], real[:, 1], s=4, c="tab:blue", alpha=0.4, label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:red", alpha=0.6, label="generated")
        lim = 1.15 * real.abs().max().item()
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=title)
        ax.legend(loc="upper right", markerscale=3)
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)
    else:
        save_image(fake, path, nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)
    return path


def save_neighbours(samples: torch.Tensor, neighbours: torch.Tensor, path: Path) -> Path:
    """Write one row per sample at `path`: the sample, a white gap, then its neighbours (nearest first).
    `samples` is (n, C, H, W) and `neighbours` (n, k, C, H, W), both in [-1, 1]."""
    path.parent.mkdir(parents=True, exist_ok=True)
    samples, neighbours = samples.detach().float().cpu(), neighbours.detach().float().cpu()
    gap = torch.ones_like(samples[:1])
    rows = [torch.cat([sample[None], gap, near]) for sample, near in zip(samples, neighbours, strict=True)]
    width = neighbours.shape[1] + 2
    save_image(torch.cat(rows), path, nrow=width, normalize=True, value_range=(-1, 1), padding=2, pad_value=1)
    return path
