"""Mode-collapse benchmarks, 2D Gaussian mixtures and Stacked MNIST, scored as PacGAN (Lin et al. 2018)."""

import math

import torch
from torch import Tensor

OUTPUTS = {
    "modes": ("modes_captured", "high_quality_pct", "kl_modes"),
    "stacked_modes": ("modes_captured", "kl_stacked"),
}


def kl_to_uniform(counts: Tensor) -> float:
    """KL(p || uniform) in nats, p = counts normalised; empty bins contribute 0 (0 log 0 = 0)."""
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return float((p * (p * len(counts)).log()).sum())


def mixture_modes(
    points: Tensor, means: Tensor, std: float | Tensor, threshold: float = 3.0
) -> dict[str, float]:
    """Score 2D samples against a Gaussian mixture with `means` (K, 2) and per-mode `std`.

    Each point goes to the mode nearest in distance / that mode's std. It is high quality when that normalised
    distance is below `threshold` (3 standard deviations); a mode is captured when at least one high-quality
    point is assigned to it. `kl_modes` is KL(mode histogram of the high-quality points ||
    uniform), as in PacGAN's code.
    """
    std = torch.as_tensor(std, dtype=points.dtype).expand(len(means))
    normalised = torch.cdist(points.double(), means.double()) / std.double()
    nearest_distance, nearest = normalised.min(dim=1)
    high_quality = nearest_distance < threshold
    counts = torch.bincount(nearest[high_quality], minlength=len(means))
    return {
        "modes_captured": int((counts > 0).sum()),
        "high_quality_pct": 100.0 * high_quality.float().mean().item(),
        "kl_modes": kl_to_uniform(counts) if high_quality.any() else math.inf,
    }


def stacked_mnist_modes(digits: Tensor) -> dict[str, float]:
    """Score Stacked MNIST samples from their classified digits, shape (N, 3): one per R, G, B channel.

    The 1000 modes are the digit triples; `kl_stacked` is KL(generated triple histogram || uniform 1/1000).
    """
    triples = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    counts = torch.bincount(triples, minlength=1000)
    return {"modes_captured": int((counts > 0).sum()), "kl_stacked": kl_to_uniform(counts)}
