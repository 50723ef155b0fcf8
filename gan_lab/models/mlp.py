"""Fully connected GANs: Goodfellow et al. 2014 style, and PacGAN's 2D-mixture networks (maxout D).

`conditional: true` makes the pair class-conditional the same way as `cdcgan`: G joins the label's one-hot
to z, D adds a projection term on its last hidden layer.
"""

import math

from torch import Tensor, nn

from gan_lab.models import GANNets, classes_for, init_dcgan_weights, projected, projection, with_label


class Maxout(nn.Module):
    """A linear layer with `pieces` outputs per unit, keeping the largest (Goodfellow et al. 2013)."""

    def __init__(self, fan_in: int, fan_out: int, pieces: int) -> None:
        super().__init__()
        self.pieces, self.linear = pieces, nn.Linear(fan_in, fan_out * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).unflatten(-1, (-1, self.pieces)).amax(dim=-1)


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
    """LeakyReLU(0.2) hidden layers, or maxout layers of `maxout` pieces when `maxout` > 1."""

    def __init__(
        self, hidden: int, depth: int, data_shape: tuple[int, ...], maxout: int = 1, num_classes: int = 0
    ) -> None:
        super().__init__()

        def block(fan_in: int, fan_out: int) -> list[nn.Module]:
            if maxout > 1:
                return [Maxout(fan_in, fan_out, maxout)]
            return [nn.Linear(fan_in, fan_out), nn.LeakyReLU(0.2, True)]

        body = _hidden_layers(math.prod(data_shape), hidden, depth, block)
        self.main = nn.Sequential(nn.Flatten(), *body, nn.Linear(hidden, 1))
        self.embed = projection(num_classes, hidden)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return projected(self.main, x, y, self.embed)


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
) -> GANNets:
    """An MLP generator (`g_depth` x `g_hidden`) and discriminator (`d_depth` x `d_hidden`); class-conditional
    on the dataset's `num_classes` labels when `conditional`."""
    classes = classes_for("mlp_gan conditional=true", conditional, num_classes)
    nets = GANNets(
        MLPGenerator(nz, g_hidden, g_depth, data_shape, batch_norm, classes),
        MLPDiscriminator(d_hidden, d_depth, data_shape, maxout, classes),
        nz,
        classes,
    )
    if normal_init:
        nets.generator.apply(init_dcgan_weights)
        nets.discriminator.apply(init_dcgan_weights)
    return nets
