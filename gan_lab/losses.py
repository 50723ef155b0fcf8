"""Adversarial losses. Each takes D's logits; the training step never needs to know which one it runs."""

import torch
import torch.nn.functional as F
from torch import Tensor


class NonSaturating:
    """Goodfellow et al. 2014: D minimises BCE on real=1 / fake=0; G maximises log D(G(z)).

    `*_with_logits` keeps the sigmoid inside the loss, which is numerically safe and autocast-safe.
    """

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))

    def generator(self, fake_logits: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
