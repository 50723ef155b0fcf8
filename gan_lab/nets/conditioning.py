"""How conditional networks take their labels: one-hot into G, a projection term in D."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.errors import ConfigError


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


def refuse_packed_labels(pack: int, num_classes: int) -> None:
    """Packing joins samples of different labels into one D input, which a projection D has no label for."""
    if pack > 1 and num_classes:
        raise ConfigError(
            f"system.nets.pack={pack} with a class-conditional model: a packed input mixes labels. "
            "Use system.nets.pack=1, or an unconditional model."
        )
