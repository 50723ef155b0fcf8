"""SimCLR (Chen et al. 2020): two random views of each image, and the NT-Xent loss that pulls a view's
embedding towards its partner's and away from the 2N - 2 other views in the batch."""

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def nt_xent(a: Tensor, b: Tensor, temperature: float) -> tuple[Tensor, Tensor]:
    """NT-Xent over the pairs (a[i], b[i]): cross-entropy of cosine similarities / temperature, each of the 2N
    views against the other 2N - 1. Also returns the share of views whose nearest other view is their partner
    (a training signal that needs no labels)."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    n = a.shape[0]
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))  # a view is not its own positive
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, partner), (logits.argmax(1) == partner).float().mean()


class SimCLRViews(nn.Module):
    """One random view per image in [-1, 1]: a resized crop of `min_scale` to all of the image, a flip,
    colour jitter (p 0.8) and grayscale (p 0.2), SimCLR's CIFAR recipe. No blur and no noise: the metrics
    built on these features must stay sensitive to both."""

    def __init__(self, size: int, min_scale: float = 0.2, jitter: float = 0.4) -> None:
        super().__init__()
        self.ops = nn.Sequential(
            K.RandomResizedCrop((size, size), scale=(min_scale, 1.0)),
            K.RandomHorizontalFlip(),
            K.ColorJitter(jitter, jitter, jitter, jitter / 4, p=0.8),
            K.RandomGrayscale(p=0.2),
        )

    def forward(self, x: Tensor) -> Tensor:
        views = self.ops((x.float() + 1) / 2)  # kornia's colour ops work on [0, 1]
        return views * 2 - 1
