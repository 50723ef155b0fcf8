"""Fully connected GANs: Goodfellow et al. 2014 style, and PacGAN's 2D-mixture networks (maxout D).

`conditional: true` makes the pair class-conditional the same way as `cdcgan`: G joins the label's one-hot
to z, D adds a projection term on its last hidden layer.
"""

import math

from torch import Tensor, nn

from gan_lab.nets import GANNets
from gan_lab.nets.conditioning import (
    classes_for,
    projected,
    projection,
    refuse_packed_labels,
    with_label,
)
from gan_lab.nets.init import init_dcgan_weights
from gan_lab.nets.layers import Maxout, MinibatchStd, Pack, spectral_norm_all


def _hidden_layers(fan_in: int, width: int, depth: int, layer) -> list[nn.Module]:
    """`depth` blocks of `layer(fan_in, width)`, each block a list of modules."""
    blocks: list[nn.Module] = []
    for i in range(depth):
        blocks += layer(fan_in if i == 0 else width, width)
    return blocks


class MLPGenerator(nn.Module):
    def __init__(
        self,
        nz: int,
        hidden: int,
        depth: int,
        data_shape: tuple[int, ...],
        batch_norm: bool,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.num_classes = num_classes

        def block(fan_in: int, fan_out: int) -> list[nn.Module]:
            norm = [nn.BatchNorm1d(fan_out)] if batch_norm else []
            return [nn.Linear(fan_in, fan_out, bias=not batch_norm), *norm, nn.ReLU(True)]

        # Images live in [-1, 1], so they end in Tanh; 2D points are unbounded and end linear.
        head = [nn.Linear(hidden, math.prod(self.data_shape))] + (
            [nn.Tanh()] if len(self.data_shape) > 1 else []
        )
        self.main = nn.Sequential(*_hidden_layers(nz + num_classes, hidden, depth, block), *head)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.main(with_label(z, y, self.num_classes)).view(-1, *self.data_shape)


class MLPDiscriminator(nn.Module):
    """LeakyReLU(0.2) hidden layers, or maxout layers of `maxout` pieces when `maxout` > 1. `pack` and
    `minibatch_std` as in the DCGAN discriminator."""

    def __init__(
        self,
        hidden: int,
        depth: int,
        data_shape: tuple[int, ...],
        maxout: int = 1,
        num_classes: int = 0,
        pack: int = 1,
        minibatch_std: int = 0,
    ) -> None:
        super().__init__()

        def block(fan_in: int, fan_out: int) -> list[nn.Module]:
            if maxout > 1:
                return [Maxout(fan_in, fan_out, maxout)]
            return [nn.Linear(fan_in, fan_out), nn.LeakyReLU(0.2, True)]

        body = _hidden_layers(math.prod(data_shape) * pack, hidden, depth, block)
        std = [MinibatchStd(minibatch_std)] if minibatch_std else []
        extra = std[0].extra_channels if std else 0
        self.pack = Pack(pack)  # outside `main`: no weights, and main's layer numbers stay as they were
        self.main = nn.Sequential(nn.Flatten(), *body, *std, nn.Linear(hidden + extra, 1))
        self.embed = projection(num_classes, hidden + extra)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return projected(self.main, self.pack(x), y, self.embed)


def mlp_gan(
    data_shape: tuple[int, ...],
    num_classes: int | None = None,
    nz: int = 2,
    g_hidden: int = 128,
    g_depth: int = 3,
    d_hidden: int = 128,
    d_depth: int = 3,
    batch_norm: bool = True,
    maxout: int = 1,
    normal_init: bool = False,
    conditional: bool = False,
    spectral_norm: bool = False,
    pack: int = 1,
    minibatch_std: int = 0,
) -> GANNets:
    """An MLP generator (`g_depth` x `g_hidden`) and discriminator (`d_depth` x `d_hidden`); class-conditional
    on the dataset's `num_classes` labels when `conditional`. D options as in `dcgan`."""
    classes = classes_for("mlp_gan conditional=true", conditional, num_classes)
    refuse_packed_labels(pack, classes)
    nets = GANNets(
        MLPGenerator(nz, g_hidden, g_depth, data_shape, batch_norm, classes),
        MLPDiscriminator(d_hidden, d_depth, data_shape, maxout, classes, pack, minibatch_std),
        nz,
        classes,
    )
    if normal_init:
        nets.generator.apply(init_dcgan_weights)
        nets.discriminator.apply(init_dcgan_weights)
    if spectral_norm:
        spectral_norm_all(nets.discriminator)
    return nets
