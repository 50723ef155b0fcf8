"""Plain networks: nn.Modules and their builders, torch only.

A GAN builder returns `GANNets`; a classifier builder an nn.Module. Every builder is called as
`builder(data_shape=..., num_classes=...)`: the dataset's sample shape and its number of labels (None for
unlabelled data), which training records in the run config. Conditional networks take the labels as a second
argument, `generator(z, y)` and `discriminator(x, y)`; unconditional ones accept `y=None` and ignore it.
"""

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class GANNets:
    generator: nn.Module  # z of shape (B, nz) -> sample of the dataset's shape, in [-1, 1]
    discriminator: nn.Module  # sample -> logits of shape (B,) (B / pack with packing)
    nz: int  # latent size
    num_classes: int = 0  # labels a conditional pair takes; 0 = unconditional


def latent_noise(
    n: int, nz: int, seed: int | None = None, device: torch.device | str | None = None
) -> Tensor:
    """z ~ N(0, I) of shape (n, nz): from its own generator seeded by `seed` (fixed sample grids, evaluation,
    `generate`: the same seed gives the same codes on any device), or from the global RNG when `seed` is None
    (training, whose RNG state checkpoints save, so a resumed run draws what it would have drawn)."""
    if seed is None:
        return torch.randn(n, nz, device=device)
    return torch.randn(n, nz, generator=torch.Generator().manual_seed(seed)).to(device)


def prepare(nets: list[nn.Module], channels_last: bool, compile: bool) -> None:
    """The `train.channels_last` and `train.compile` switches, applied in place: the one place networks are
    laid out and compiled, for training and for every tool that loads them (same kernels, same numbers)."""
    for net in nets:
        if channels_last:
            net.to(memory_format=torch.channels_last)
        if compile:
            net.compile()  # in place: the state_dict keys, hence checkpoints, stay those of the plain module
