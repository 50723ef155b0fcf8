"""Architectures: plain nn.Modules. A GAN builder returns `GANNets`; a classifier builder an nn.Module.

Every builder is called as `builder(data_shape=..., num_classes=...)`: the dataset's sample shape and its
number of labels (None for unlabelled data), which training records in the run config as `model.num_classes`.
Conditional networks take the labels as a second argument,
`generator(z, y)` and `discriminator(x, y)`; unconditional ones accept `y=None` and ignore it.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import Tensor, nn

from gan_lab.errors import ConfigError


@dataclass
class GANNets:
    generator: nn.Module  # z of shape (B, nz) -> sample of the dataset's shape, in [-1, 1]
    discriminator: nn.Module  # sample -> logits of shape (B,)
    nz: int  # latent size
    num_classes: int = 0  # labels a conditional pair takes; 0 = unconditional


def uses_channels_last(cfg: DictConfig, data_shape: tuple[int, ...]) -> bool:
    """Whether a run's networks are in NHWC layout: `train.channels_last` holds for image data (C, H, W)
    only, as 2D points have no layout to change. Runs saved before the switch existed trained in NCHW."""
    return bool(cfg.train.get("channels_last", False)) and len(data_shape) == 3


def classes_for(model: str, conditional: bool, num_classes: int | None) -> int:
    """The label count a `conditional` model is built for, 0 when unconditional; an error without labels."""
    if not conditional:
        return 0
    if not num_classes:
        raise ConfigError(
            f"model={model} is class-conditional, but this dataset has no labels: use a labelled dataset "
            "(mnist, fashion_mnist, gaussian_grid, celeba with dataset.label=ATTRIBUTE) or an unconditional "
            "model."
        )
    return num_classes


def init_dcgan_weights(module: nn.Module) -> None:
    """N(0, 0.02) for conv and linear weights, N(1, 0.02) for batch-norm scales (Radford et al. 2015)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def with_label(z: Tensor, y: Tensor | None, num_classes: int) -> Tensor:
    """A conditional generator's input: z joined to the label one-hot (z itself when unconditional).

    One-hot, as in Mirza & Osindero's conditional GAN, rather than a learned embedding: an embedding as wide
    as z grew until G ignored z (one image per class, recall 0 on MNIST, measured), and one-hot has no width
    to tune and cannot grow.
    """
    if not num_classes:
        return z
    if y is None:
        raise ValueError("this generator is class-conditional: call it as generator(z, labels).")
    return torch.cat([z, F.one_hot(y, num_classes).to(z.dtype)], dim=1)


def projection(num_classes: int, features: int) -> nn.Embedding | None:
    """The label embedding of a projection discriminator; N(0, 0.02), so it starts as a small correction."""
    if not num_classes:
        return None
    embed = nn.Embedding(num_classes, features)
    nn.init.normal_(embed.weight, 0.0, 0.02)
    return embed


def projected(main: nn.Sequential, x: Tensor, y: Tensor | None, embed: nn.Embedding | None) -> Tensor:
    """Logits of a discriminator whose last layer of `main` is its linear head, plus the projection term
    <embed(y), h> on the features h that feed that head when it is conditional (Miyato & Koyama 2018)."""
    if embed is None:
        return main(x).flatten()
    if y is None:
        raise ValueError("this discriminator is class-conditional: call it as discriminator(x, labels).")
    features = main[:-1](x)
    return main[-1](features).flatten() + (embed(y) * features.flatten(1)).sum(dim=1)
