"""Scores over feature vectors: FID, KID and IS through torchmetrics; precision and recall by hand.

Features are extracted once (see `features.py`) and handed to torchmetrics through `Precomputed`, so real-data
features can be cached on disk and each extractor runs once per image.
"""

import torch
from torch import Tensor, nn
from torchmetrics.image import FrechetInceptionDistance, InceptionScore, KernelInceptionDistance

IMAGE_METRICS = ("fid", "kid", "is", "pr")  # computed per feature extractor


class Precomputed(nn.Module):
    """The identity, as torchmetrics' `feature` extractor: its inputs are features already."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """FID between two feature sets, by torchmetrics (float64 statistics)."""
    fid = FrechetInceptionDistance(feature=Precomputed(real.shape[1]), sync_on_compute=False)
    fid.update(real, real=True)
    fid.update(fake, real=False)
    return float(fid.compute())


def kernel_distance(
    real: Tensor, fake: Tensor, subset_size: int = 1000, subsets: int = 100
) -> tuple[float, float | None]:
    """KID (unbiased MMD^2, cubic kernel) as mean and std over random subsets, by torchmetrics.

    When the smaller set has no more samples than `subset_size`, KID is computed once, on that many of
    each set (the first ones), and its std is None (not reported): subsets of (nearly) the whole set
    would spread by little more than the order of floating-point sums.
    """
    size = min(subset_size, len(real), len(fake))
    whole = size == min(len(real), len(fake))
    if whole:
        real, fake = real[:size], fake[:size]
    kid = KernelInceptionDistance(
        feature=Precomputed(real.shape[1]),
        subsets=1 if whole else subsets,
        subset_size=size,
        sync_on_compute=False,
    )
    kid.update(real, real=True)
    kid.update(fake, real=False)
    mean, std = kid.compute()
    return float(mean), None if whole else float(std)


def inception_score(logits: Tensor, splits: int = 10) -> tuple[float, float]:
    """exp(E KL(p(y|x) || p(y))) from class logits, mean and std over `splits`, by torchmetrics."""
    score = InceptionScore(feature=Precomputed(logits.shape[1]), splits=splits, sync_on_compute=False)
    score.update(logits)
    mean, std = score.compute()
    return float(mean), float(std)


def _kth_neighbour_radius(points: Tensor, k: int, chunk: int = 1024) -> Tensor:
    """Distance from each point to its k-th nearest other point."""
    radii = [torch.cdist(block, points).kthvalue(k + 1, dim=1).values for block in points.split(chunk)]
    return torch.cat(radii)  # k + 1: every point is its own nearest neighbour, at distance 0


def _fraction_covered(points: Tensor, centres: Tensor, radii: Tensor, chunk: int = 1024) -> float:
    """Share of `points` inside at least one ball (centre, radius)."""
    inside = [(torch.cdist(block, centres) <= radii).any(dim=1) for block in points.split(chunk)]
    return torch.cat(inside).float().mean().item()


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls around its points reaching the k-th nearest neighbour.
    Precision: share of fake samples on the real manifold (quality). Recall: share of real samples on the
    fake manifold (coverage).
    """
    real, fake = real.float(), fake.float()
    precision = _fraction_covered(fake, real, _kth_neighbour_radius(real, k))
    recall = _fraction_covered(real, fake, _kth_neighbour_radius(fake, k))
    return precision, recall


OUTPUTS = {"fid": ("fid",), "kid": ("kid", "kid_std"), "is": ("is", "is_std"), "pr": ("precision", "recall")}


def image_metric_names(metric: str, extractor: str) -> list[str]:
    """What `metric` reports, named after the extractor: kid -> kid_classifier, kid_classifier_std."""
    return [
        f"{out.removesuffix('_std')}_{extractor}" + ("_std" if out.endswith("_std") else "")
        for out in OUTPUTS[metric]
    ]


def image_scores(
    names: list[str], real: Tensor, fake: Tensor, fake_logits: Tensor, extractor: str, k: int = 3
) -> dict[str, float]:
    """The requested IMAGE_METRICS of fake vs real features (and fake logits), by `image_metric_names`."""
    compute = {
        "fid": lambda: (frechet_distance(real, fake),),
        "kid": lambda: kernel_distance(real, fake),
        "is": lambda: inception_score(fake_logits),
        "pr": lambda: precision_recall(real, fake, k),
    }
    scores: dict[str, float] = {}
    for name in names:
        values = zip(image_metric_names(name, extractor), compute[name](), strict=True)
        scores.update({k: v for k, v in values if v is not None})  # a std that measures nothing is left out
    return scores
