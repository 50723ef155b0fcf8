"""DCGAN (Radford et al. 2015), laid out as in pytorch/examples' dcgan/main.py.

At 64x64 the networks are that example's layer for layer; other sizes add or remove one stride-2 stage per
factor of two. 28x28 (MNIST) starts from a 7x7 map instead of 4x4. D returns logits: the sigmoid lives in the
loss (`*_with_logits`), which is safe under autocast.

`cdcgan` is the class-conditional pair. G joins the label's one-hot to z (see `with_label`). D is a
projection discriminator (Miyato & Koyama 2018): logits = head(h) + <embed(y), h>, with h D's last feature
map flattened. Projection rather than label maps concatenated to the input, because it leaves the
unconditional D unchanged (one embedding added), costs nothing per pixel, and in Miyato & Koyama's
experiments gave better sample quality and class agreement than concatenation.
"""

import math

from torch import Tensor, nn

from gan_lab.errors import ConfigError
from gan_lab.nets import GANNets
from gan_lab.nets.conditioning import (
    classes_for,
    projected,
    projection,
    refuse_packed_labels,
    with_label,
)
from gan_lab.nets.init import init_dcgan_weights
from gan_lab.nets.layers import MinibatchStd, Pack, spectral_norm_all

SUPPORTED_SIZES = (28, 32, 64, 128)


def _layout(image_size: int) -> tuple[int, int]:
    """(side of the smallest feature map, number of stride-2 stages) for an image size."""
    if image_size not in SUPPORTED_SIZES:
        raise ConfigError(
            f"dataset.image_size={image_size} is not supported by model=dcgan; "
            f"choose one of {', '.join(map(str, SUPPORTED_SIZES))}."
        )
    start = 7 if image_size == 28 else 4
    return start, int(math.log2(image_size // start))


class Generator(nn.Module):
    def __init__(self, nz: int, ngf: int, channels: int, image_size: int, num_classes: int = 0) -> None:
        super().__init__()
        start, stages = _layout(image_size)
        width = ngf * 2 ** (stages - 1)
        self.num_classes = num_classes
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz + num_classes, width, start, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.main(with_label(z, y, self.num_classes)[:, :, None, None])


class Discriminator(nn.Module):
    """`pack` > 1 joins that many samples into one input (PacGAN); `minibatch_std` > 0 adds the standard
    deviation over groups of that many samples as a feature map before the last layer (Karras et al. 2018)."""

    def __init__(
        self,
        ndf: int,
        channels: int,
        image_size: int,
        num_classes: int = 0,
        pack: int = 1,
        minibatch_std: int = 0,
    ) -> None:
        super().__init__()
        start, stages = _layout(image_size)
        self.pack = Pack(pack)  # outside `main`: no weights, and main's layer numbers stay as they were
        layers: list[nn.Module] = [
            nn.Conv2d(channels * pack, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, True),
        ]
        width = ndf
        for _ in range(stages - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * 2),
                nn.LeakyReLU(0.2, True),
            ]
            width *= 2
        if minibatch_std:
            layers.append(MinibatchStd(minibatch_std))
        extra = layers[-1].extra_channels if minibatch_std else 0
        layers.append(nn.Conv2d(width + extra, 1, start, 1, 0, bias=False))
        self.main = nn.Sequential(*layers)
        self.embed = projection(num_classes, (width + extra) * start * start)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return projected(self.main, self.pack(x), y, self.embed)


def dcgan(
    data_shape: tuple[int, ...],
    num_classes: int | None = None,
    nz: int = 100,
    ngf: int = 64,
    ndf: int = 64,
    conditional: bool = False,
    spectral_norm: bool = False,
    pack: int = 1,
    minibatch_std: int = 0,
) -> GANNets:
    """Build a DCGAN pair for images of `data_shape` = (channels, size, size); class-conditional on the
    dataset's `num_classes` labels when `conditional`. D options: `spectral_norm` on every layer (Miyato et
    al. 2018), PacGAN's `pack`, `minibatch_std` group size (0 = off)."""
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ConfigError(
            f"model=dcgan needs square images (C, H, W); this dataset gives shape {data_shape}."
        )
    channels, image_size, _ = data_shape
    classes = classes_for("cdcgan", conditional, num_classes)
    refuse_packed_labels(pack, classes)
    generator = Generator(nz, ngf, channels, image_size, classes)
    discriminator = Discriminator(ndf, channels, image_size, classes, pack, minibatch_std)
    generator.apply(init_dcgan_weights)
    discriminator.apply(init_dcgan_weights)
    if spectral_norm:
        spectral_norm_all(discriminator)
    return GANNets(generator, discriminator, nz, classes)
