"""CycleGAN's networks (Zhu et al. 2017): two ResNet generators, one per direction, and two PatchGAN
discriminators, one per domain.

The generator is Johnson et al.'s: c7s1-w, two stride-2 downsamplings (d2w, d4w), `blocks` residual blocks
at 4w, two upsamplings (u2w, uw), c7s1-3 and tanh, with instance norm and reflection padding. `upsample`
picks transposed convolutions (the paper's) or nearest resize + 3x3 convolution, which avoids their
checkerboard artifacts (Odena et al. 2016). The discriminator is pix2pix's PatchGAN: `n_layers` stride-2
4x4 convolutions, then two stride-1 ones down to a map of logits, one per overlapping patch (70 x 70 pixels
with n_layers=3).
"""

from dataclasses import dataclass

from torch import Tensor, nn

from gan_lab.errors import ConfigError
from gan_lab.nets.init import init_dcgan_weights
from gan_lab.nets.layers import spectral_norm_all

UPSAMPLES = ("transposed", "resize")


@dataclass
class TranslationNets:
    generator_ab: nn.Module  # image of domain A (B, C, H, W) -> image of domain B, in [-1, 1]
    generator_ba: nn.Module  # image of domain B -> image of domain A
    discriminator_a: nn.Module  # image -> patch logits (B, 1, h, w): is it a real image of domain A?
    discriminator_b: nn.Module  # the same for domain B


def _norm(channels: int) -> nn.Module:
    # CycleGAN's instance norm: no affine scale, no running statistics (train and eval agree).
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    """x + [pad, conv 3x3, norm, relu, pad, conv 3x3, norm](x)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _upsampling(channels_in: int, channels_out: int, upsample: str) -> list[nn.Module]:
    if upsample == "resize":
        resize = [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1)]
        return [*resize, nn.Conv2d(channels_in, channels_out, 3), _norm(channels_out), nn.ReLU(True)]
    conv = nn.ConvTranspose2d(channels_in, channels_out, 3, stride=2, padding=1, output_padding=1)
    return [conv, _norm(channels_out), nn.ReLU(True)]


class ResnetGenerator(nn.Module):
    """Image to image of the same size (a multiple of 4): c7s1-w, d2w, d4w, `blocks` x R4w, u2w, uw, c7s1."""

    def __init__(self, channels: int, width: int = 32, blocks: int = 6, upsample: str = "transposed") -> None:
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, width, 7), _norm(width), nn.ReLU(True)]
        for k in (1, 2):
            layers += [nn.Conv2d(width * k, width * 2 * k, 3, stride=2, padding=1), _norm(width * 2 * k)]
            layers.append(nn.ReLU(True))
        layers += [ResidualBlock(width * 4) for _ in range(blocks)]
        for k in (4, 2):
            layers += _upsampling(width * k, width * k // 2, upsample)
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: image -> (B, 1, h, w) logits, one per patch. Widths w, 2w, 4w, 8w (capped at 8w)."""

    def __init__(self, channels: int, width: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        out = width
        layers: list[nn.Module] = [nn.Conv2d(channels, out, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1  # the last of the n_layers keeps the map's size
            previous, out = out, width * min(2**n, 8)
            layers += [nn.Conv2d(previous, out, 4, stride=stride, padding=1), _norm(out)]
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(nn.Conv2d(out, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def cyclegan(
    data_shape: tuple[int, ...],
    num_classes: int | None = None,
    width: int = 32,
    blocks: int = 6,
    upsample: str = "transposed",
    d_width: int = 64,
    n_layers: int = 3,
    spectral_norm: bool = False,
) -> TranslationNets:
    """CycleGAN's four networks for images of `data_shape` (C, H, W), weights N(0, 0.02) as in the paper's
    code. `num_classes` is accepted for the builder signature and ignored: translation is unconditional."""
    if len(data_shape) != 3:
        raise ConfigError(f"model=cyclegan translates images (C, H, W); the data is {tuple(data_shape)}.")
    channels, height, width_px = data_shape
    if height % 4 or width_px % 4:
        raise ConfigError(
            f"model=cyclegan needs image sides divisible by 4 (two stride-2 downsamplings): got "
            f"{height}x{width_px}; set dataset.image_size to a multiple of 4."
        )
    if upsample not in UPSAMPLES:
        raise ConfigError(f"system.nets.upsample={upsample!r}: use one of {', '.join(UPSAMPLES)}.")
    if n_layers < 1 or min(height, width_px) // 2**n_layers < 4:
        raise ConfigError(
            f"system.nets.n_layers={n_layers} does not fit {height}x{width_px} images: the PatchGAN halves "
            f"them n_layers times and needs 4x4 left; use 1 to {_max_layers(min(height, width_px))}."
        )
    nets = TranslationNets(
        generator_ab=ResnetGenerator(channels, width, blocks, upsample),
        generator_ba=ResnetGenerator(channels, width, blocks, upsample),
        discriminator_a=PatchDiscriminator(channels, d_width, n_layers),
        discriminator_b=PatchDiscriminator(channels, d_width, n_layers),
    )
    for net in (nets.generator_ab, nets.generator_ba, nets.discriminator_a, nets.discriminator_b):
        net.apply(init_dcgan_weights)
    if spectral_norm:
        spectral_norm_all(nets.discriminator_a)
        spectral_norm_all(nets.discriminator_b)
    return nets


def _max_layers(side: int) -> int:
    layers = 0
    while side // 2 ** (layers + 1) >= 4:
        layers += 1
    return layers
