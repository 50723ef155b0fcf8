"""Gradient penalties on the discriminator, with lazy regularization.

A penalty is added to D's loss at the steps where it is `due`. With `every` = k > 1 it runs on one step in k
with its weight multiplied by k, so that its average strength is unchanged and the (costly) double backward
runs k times less often: StyleGAN2's lazy regularization (Karras et al. 2020, "Analyzing and Improving the
Image Quality of StyleGAN", sec. 3.1; stylegan2-ada-pytorch uses R1 every 16 D steps).

The system passes `discriminator` as a closure (it binds the labels and any augmentation): a penalty only
calls it on a batch of images and reads its logits, of any form `Logits` allows.

Gradients are taken per sample by differentiating the sum of D's outputs over the batch, which is exact
when D treats the samples of a batch independently (no batch norm in D, as is usual for these penalties).
"""

from collections.abc import Callable

import torch
from torch import Tensor

from gan_lab.errors import ConfigError
from gan_lab.objectives.adversarial import Logits, heads


def _input_gradients(discriminator: Callable[[Tensor], Logits], x: Tensor) -> Tensor:
    """∇_x of the sum of D's outputs over all heads and elements, per sample flattened to (B, -1), float32.

    The graph is kept (create_graph) so that the penalty backpropagates into D's weights. Under bf16-mixed
    the forward runs in bf16 and the backward of the penalty follows the forward's dtype; the outputs are
    summed, and the gradients squared, in float32.
    """
    x = x.detach().requires_grad_(True)
    total = torch.stack([head.float().sum() for head in heads(discriminator(x))]).sum()
    (grad,) = torch.autograd.grad(total, x, create_graph=True)
    return grad.float().flatten(1)


class Penalty:
    """A term added to D's loss: `weight * every * value(...)` at the steps where it is `due`."""

    def __init__(self, weight: float, every: int = 1) -> None:
        if not weight >= 0:  # also refuses NaN
            raise ConfigError(f"penalty.weight={weight}: use a weight >= 0")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"penalty.every={every}: use a whole number of generator steps >= 1")
        self.weight, self.every = float(weight), every

    def due(self, step: int) -> bool:
        """Whether to apply the penalty at `step`, the generator updates done so far (0 at first)."""
        return step % self.every == 0

    def __call__(self, discriminator: Callable[[Tensor], Logits], real: Tensor, fake: Tensor) -> Tensor:
        """The term to add to D's loss at a step where the penalty is due (weighted by the lazy interval)."""
        return self.weight * self.every * self.value(discriminator, real, fake)

    def value(self, discriminator: Callable[[Tensor], Logits], real: Tensor, fake: Tensor) -> Tensor:
        """The unweighted penalty, a scalar."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(weight={self.weight:g}, every={self.every})"


class R1(Penalty):
    """Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?": (γ/2) E ||∇_x D(x)||²
    on real samples. It stops D from having a slope on the data manifold, so training converges locally.

    `value` includes the paper's 1/2, so `weight` is the paper's γ (10 in the paper's main experiments).
    """

    def __init__(self, weight: float = 10.0, every: int = 1) -> None:
        super().__init__(weight, every)

    def value(self, discriminator: Callable[[Tensor], Logits], real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * _input_gradients(discriminator, real).pow(2).sum(dim=1).mean()


class R2(Penalty):
    """R1's counterpart on generated samples (Mescheder et al. 2018): (γ/2) E ||∇_x D(G(z))||²."""

    def __init__(self, weight: float = 10.0, every: int = 1) -> None:
        super().__init__(weight, every)

    def value(self, discriminator: Callable[[Tensor], Logits], real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * _input_gradients(discriminator, fake).pow(2).sum(dim=1).mean()


class GradientPenalty(Penalty):
    """Gulrajani et al. 2017 (WGAN-GP): E[(||∇ D(x̂)||₂ - 1)²] at x̂ = ε real + (1 - ε) fake, ε ~ U[0, 1]
    per sample. It keeps the critic of `Wasserstein` near 1-Lipschitz; the paper's λ is `weight` (10).

    ε is drawn on torch's global RNG, so a resumed run (which restores the RNG states) draws the same ε.
    """

    def __init__(self, weight: float = 10.0, every: int = 1) -> None:
        super().__init__(weight, every)

    def value(self, discriminator: Callable[[Tensor], Logits], real: Tensor, fake: Tensor) -> Tensor:
        real, fake = real.detach(), fake.detach()
        eps = torch.rand((real.size(0),) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
        mixed = eps * real + (1 - eps) * fake
        return (_input_gradients(discriminator, mixed).norm(2, dim=1) - 1).pow(2).mean()
