"""Semantic inpainting (Yeh et al. 2017, "Semantic Image Inpainting with Deep
Generative Models"), next to a mean-colour fill and classical inpainting.

The search is for the latent code z whose G(z) agrees with the known pixels and looks real to D:

    loss(z) = || W * (G(z) - y) ||_1  +  prior_weight * -log D(G(z))

The context loss weighs each known pixel by the fraction of hole in the `window` x `window` square around it
(the paper's W): pixels at the hole's rim, which the fill must continue, count most, and pixels far from the
hole say nothing about it and count 0. The paper writes the prior loss as log(1 - D(G(z))); we minimise
-log D(G(z)) from D's logits, the non-saturating loss our generators train with: it pulls the same way, but
its gradient does not vanish where D confidently rejects G(z).

z is optimised with Adam from `restarts` random starts per image, and the start with the lowest final loss is
kept. After every step z is scaled back onto the sphere of radius sqrt(nz): our generators are trained on
z ~ N(0, I), whose norms concentrate there (10 +- 0.7 for nz = 100), so that shell is where G has learned to
make realistic images, and an unconstrained z drifts off it. (The paper clamps z to [-1, 1]: the same idea
for its uniform z.)

Blending is a plain paste of the known pixels over G(z), not the paper's Poisson blending (which keeps G's
gradients in the hole but shifts its values to meet the rim): the hole is exactly the generator's fill, so the
scores measure the generator rather than a blend of it with a smooth interpolation; and it needs no OpenCV.

Unconditional generators only: a class-conditional one is refused rather than optimised per guessed label.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def context_weights(known: Tensor, window: int) -> Tensor:
    """Yeh et al.'s W: a known pixel weighs the fraction of hole pixels in the `window` x `window` square
    around it (the part of the square inside the image); a hole pixel weighs 0."""
    hole = (~known).float()
    fraction = F.avg_pool2d(hole, window, stride=1, padding=window // 2, count_include_pad=False)
    return fraction * known


def semantic_inpaint(
    generator: nn.Module,
    discriminator: nn.Module,
    images: Tensor,
    known: Tensor,
    z: Tensor,
    steps: int,
    lr: float,
    prior_weight: float,
    window: int,
) -> tuple[Tensor, Tensor]:
    """Fill the holes of `images` (N, C, H, W) in [-1, 1], searching from the codes `z` (N, restarts, nz).

    Returns the filled images (known pixels pasted back unchanged) and the codes' mean loss at each step.
    """
    n, restarts, nz = z.shape
    weights = context_weights(known, window).repeat_interleave(restarts, 0)
    targets = images.repeat_interleave(restarts, 0)
    radius = math.sqrt(nz)
    z = (F.normalize(z.reshape(n * restarts, nz), dim=1) * radius).requires_grad_()
    optimizer = torch.optim.Adam([z], lr=lr)

    def loss_of(codes: Tensor) -> tuple[Tensor, Tensor]:
        fake = generator(codes)
        context = (weights * (fake - targets).abs()).flatten(1).sum(1)
        prior = F.softplus(-discriminator(fake))  # -log D(G(z)): softplus(-l) = -log sigmoid(l)
        return context + prior_weight * prior, fake

    history = []
    for _ in range(steps):
        loss, _ = loss_of(z)
        optimizer.zero_grad()
        # G and D are in eval mode, so each code's loss depends on that code alone: the sum's gradient is
        # every code's own gradient, and no weight gradient is accumulated.
        loss.sum().backward(inputs=[z])
        optimizer.step()
        with torch.no_grad():
            z.copy_(F.normalize(z, dim=1) * radius)
        history.append(loss.mean().item())
    with torch.no_grad():
        loss, fake = loss_of(z)
    best = loss.view(n, restarts).argmin(1)
    fill = fake.view(n, restarts, *images.shape[1:])[torch.arange(n), best]
    return torch.where(known, images, fill), torch.tensor(history)
