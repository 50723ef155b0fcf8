"""Adversarial losses. Each takes D's logits; the training step never needs to know which one it runs.

A discriminator may return one logit per sample (B,), a patch map (B, 1, H, W) as in pix2pix, or several
heads (a list or dict, e.g. a video GAN's frame D and clip D). Each head's loss is the mean over all its
elements and the heads' losses are summed, so adding a head adds a critic rather than diluting the others.

Every loss is computed in float32 (logits are cast with `.float()`, a no-op in fp32), so bf16 autocast
changes the networks' precision but not the losses'.
"""

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from gan_lab.errors import ConfigError

Logits = Tensor | Sequence[Tensor] | Mapping[str, Tensor]


def heads(logits: Logits) -> list[Tensor]:
    """The discriminator's outputs as a list of tensors, whatever container it returned them in."""
    if isinstance(logits, Tensor):
        return [logits]
    found = list(logits.values()) if isinstance(logits, Mapping) else list(logits)
    if not found or not all(isinstance(head, Tensor) for head in found):
        raise TypeError(f"a discriminator must return a tensor, or a list or dict of tensors: got {logits!r}")
    return found


def split_logits(logits: Logits) -> tuple[Logits, Logits]:
    """D's logits for a batch made of two equal batches (reals, then as many fakes), as each batch's logits,
    in the container D returned them in. The split is counted in D's outputs, not in samples: a packed D
    (PacGAN) gives one output per group of samples."""
    total = len(heads(logits)[0])
    if total % 2:
        # Only a packed D gives an odd count for two equal batches: one of its groups joined reals and fakes.
        raise ConfigError(
            f"D scored two equal batches with {total} outputs: a pack joined real and fake samples. Set "
            "dataset.batch_size to a multiple of system.nets.pack."
        )
    n = total // 2
    if isinstance(logits, Tensor):
        return logits[:n], logits[n:]
    if isinstance(logits, Mapping):
        return {k: v[:n] for k, v in logits.items()}, {k: v[n:] for k, v in logits.items()}
    return [head[:n] for head in logits], [head[n:] for head in logits]


def _summed(loss: Callable[[Tensor], Tensor], logits: Logits) -> Tensor:
    """`loss` on each head (in float32), summed over heads. One head is returned as is, with no `0 +`."""
    terms = [loss(head.float()) for head in heads(logits)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


class AdversarialLoss:
    """A GAN objective, written per head as D's term on reals, D's term on fakes and G's term on fakes.

    D minimises `discriminator(real, fake)` and G minimises `generator(fake)`; both are scalars.
    """

    def discriminator(self, real: Logits, fake: Logits) -> Tensor:
        """D's loss: its term on the real logits plus its term on the fake logits."""
        return _summed(self._real, real) + _summed(self._fake, fake)

    def generator(self, fake: Logits) -> Tensor:
        """G's loss on D's logits for generated samples."""
        return _summed(self._generator, fake)

    def score(self, logits: Logits) -> Tensor:
        """What D says about a batch, logged as d/real and d/fake: the mean raw output (a critic's value),
        averaged over heads so it stays on the scale of one head. Detached, float32."""
        return torch.stack([head.detach().float().mean() for head in heads(logits)]).mean()

    def _real(self, logits: Tensor) -> Tensor:
        raise NotImplementedError

    def _fake(self, logits: Tensor) -> Tensor:
        raise NotImplementedError

    def _generator(self, logits: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NonSaturating(AdversarialLoss):
    """Goodfellow et al. 2014: D minimises BCE on real=1 / fake=0; G maximises log D(G(z)) (the
    non-saturating variant, which keeps G's gradient alive while D still wins easily).

    `*_with_logits` keeps the sigmoid inside the loss: softplus(-real) + softplus(fake), numerically safe.
    """

    def _real(self, logits: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))

    def _fake(self, logits: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))

    def _generator(self, logits: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))

    def score(self, logits: Logits) -> Tensor:
        """D's mean probability that the batch is real, as the DCGAN paper's D(x) and D(G(z))."""
        return torch.stack([torch.sigmoid(head.detach().float()).mean() for head in heads(logits)]).mean()


class Hinge(AdversarialLoss):
    """Lim & Ye 2017, Miyato et al. 2018 (SN-GAN), BigGAN: D pushes real logits above 1 and fake logits
    below -1 and stops caring beyond the margin; G raises D's raw output on fakes."""

    def _real(self, logits: Tensor) -> Tensor:
        return F.relu(1.0 - logits).mean()

    def _fake(self, logits: Tensor) -> Tensor:
        return F.relu(1.0 + logits).mean()

    def _generator(self, logits: Tensor) -> Tensor:
        return -logits.mean()


class Wasserstein(AdversarialLoss):
    """Arjovsky et al. 2017: D is a critic estimating the Wasserstein-1 distance, E[D(fake)] - E[D(real)].

    The estimate only holds for a 1-Lipschitz critic: pair this loss with the WGAN-GP penalty
    (`GradientPenalty`, Gulrajani et al. 2017), or the critic's outputs grow without bound.
    """

    def _real(self, logits: Tensor) -> Tensor:
        return -logits.mean()

    def _fake(self, logits: Tensor) -> Tensor:
        return logits.mean()

    def _generator(self, logits: Tensor) -> Tensor:
        return -logits.mean()


class LeastSquares(AdversarialLoss):
    """Mao et al. 2017 (LSGAN), the a=0, b=1, c=1 variant: D regresses reals to 1 and fakes to 0, G pulls
    fakes to 1. The squared error keeps penalising fakes that are classified right but lie far from the data.
    """

    def _real(self, logits: Tensor) -> Tensor:
        return 0.5 * (logits - 1.0).pow(2).mean()

    def _fake(self, logits: Tensor) -> Tensor:
        return 0.5 * logits.pow(2).mean()

    def _generator(self, logits: Tensor) -> Tensor:
        return 0.5 * (logits - 1.0).pow(2).mean()
