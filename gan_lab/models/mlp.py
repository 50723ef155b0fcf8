"""Fully connected GAN in the style of Goodfellow et al. 2014, for MNIST and the 2D mixtures."""

import math

from torch import Tensor, nn

from gan_lab.models import GANNets


def _mlp(sizes: list[int], act: nn.Module, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers.append(nn.Linear(fan_in, fan_out))
        if batch_norm:
            layers.append(nn.BatchNorm1d(fan_out))
        layers.append(act)
    return layers


class MLPGenerator(nn.Module):
    def __init__(
        self, nz: int, hidden: int, depth: int, data_shape: tuple[int, ...], batch_norm: bool
    ) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        out = math.prod(self.data_shape)
        body = _mlp([nz] + [hidden] * depth, nn.ReLU(True), batch_norm)
        # Images live in [-1, 1], so they end in Tanh; 2D points are unbounded and end linear.
        head: list[nn.Module] = [nn.Linear(hidden, out)] + ([nn.Tanh()] if len(self.data_shape) > 1 else [])
        self.main = nn.Sequential(*body, *head)

    def forward(self, z: Tensor) -> Tensor:
        return self.main(z).view(-1, *self.data_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, hidden: int, depth: int, data_shape: tuple[int, ...]) -> None:
        super().__init__()
        body = _mlp([math.prod(data_shape)] + [hidden] * depth, nn.LeakyReLU(0.2, True), batch_norm=False)
        self.main = nn.Sequential(nn.Flatten(), *body, nn.Linear(hidden, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x).flatten()


def mlp_gan(
    data_shape: tuple[int, ...], nz: int = 2, hidden: int = 128, depth: int = 3, batch_norm: bool = True
) -> GANNets:
    """Build an MLP generator and discriminator, each with `depth` hidden layers of `hidden` units."""
    return GANNets(
        MLPGenerator(nz, hidden, depth, data_shape, batch_norm),
        MLPDiscriminator(hidden, depth, data_shape),
        nz,
    )
