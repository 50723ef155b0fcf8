"""The small convolutional pair of Metz et al. 2017 (Unrolled GAN) for 28x28 Stacked MNIST, as PacGAN's
Table 3 runs it (github.com/fjxmlzn/PacGAN, stacked_MNIST_experiments/unrolled_GAN_experiment).

G: z -> linear to 64 x 4 x 4 -> deconvolutions to 32 x 7 x 7, 16 x 14 x 14, 8 x 28 x 28 -> a 3x3 convolution
to the image; BatchNorm + ReLU after every layer but the last, Tanh at the end. D: three 3x3 stride-2
convolutions of `d_width`, 2 x and 4 x `d_width` channels (28 -> 14 -> 7 -> 4), each with BatchNorm and
LeakyReLU(0.3), then a linear layer to one logit. `d_width=4` is the paper's "D = 1/2 G" (4-8-16 channels),
`d_width=2` its "D = 1/4 G" (2-4-8): a discriminator deliberately too weak, the setting where mode collapse
shows. Weights N(0, 0.02), biases 0, as the TensorFlow DCGAN code PacGAN builds on.
"""

from torch import Tensor, nn

from gan_lab.errors import ConfigError
from gan_lab.nets import GANNets
from gan_lab.nets.init import init_dcgan_weights
from gan_lab.nets.layers import Pack, spectral_norm_all


def _refuse_other_shapes(data_shape: tuple[int, ...]) -> None:
    if tuple(data_shape[1:]) != (28, 28):
        raise ConfigError(
            f"model=metz_small is built for 28x28 images (Stacked MNIST); this dataset gives shape "
            f"{tuple(data_shape)}: set dataset.image_size=28, or use model=dcgan."
        )


class MetzGenerator(nn.Module):
    def __init__(self, nz: int, channels: int) -> None:
        super().__init__()

        def up(fan_in: int, fan_out: int, output_padding: int) -> list[nn.Module]:
            # 3x3 stride-2 deconvolutions: 4 -> 7 (no output padding), 7 -> 14 and 14 -> 28 (one row more).
            deconv = nn.ConvTranspose2d(fan_in, fan_out, 3, 2, 1, output_padding, bias=False)
            return [deconv, nn.BatchNorm2d(fan_out), nn.ReLU(True)]

        self.project = nn.Sequential(nn.Linear(nz, 64 * 4 * 4, bias=False), nn.Unflatten(1, (64, 4, 4)))
        self.main = nn.Sequential(
            nn.BatchNorm2d(64),
            nn.ReLU(True),
            *up(64, 32, 0),
            *up(32, 16, 1),
            *up(16, 8, 1),
            nn.Conv2d(8, channels, 3, 1, 1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.main(self.project(z))


class MetzDiscriminator(nn.Module):
    """`pack` > 1 joins that many samples into one input along the channels (PacGAN)."""

    def __init__(self, width: int, channels: int, pack: int = 1) -> None:
        super().__init__()
        self.pack = Pack(pack)

        def down(fan_in: int, fan_out: int) -> list[nn.Module]:
            return [
                nn.Conv2d(fan_in, fan_out, 3, 2, 1, bias=False),
                nn.BatchNorm2d(fan_out),
                nn.LeakyReLU(0.3, True),
            ]

        self.main = nn.Sequential(
            *down(channels * pack, width),
            *down(width, 2 * width),
            *down(2 * width, 4 * width),
            nn.Flatten(),
            nn.Linear(4 * width * 4 * 4, 1),
        )

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.main(self.pack(x)).flatten()


def metz_small(
    data_shape: tuple[int, ...],
    num_classes: int | None = None,
    nz: int = 256,
    d_width: int = 4,
    spectral_norm: bool = False,
    pack: int = 1,
) -> GANNets:
    """Metz et al.'s small pair for 28x28 images of `data_shape[0]` channels: `d_width` channels in D's first
    layer (4: D = 1/2 G, 2: D = 1/4 G). Unconditional: `num_classes` is ignored. D options: `spectral_norm`
    on every layer, PacGAN's `pack`."""
    _refuse_other_shapes(data_shape)
    if d_width < 1:
        raise ConfigError(
            f"system.nets.d_width={d_width}: use at least 1 channel (4 = D 1/2 G, 2 = D 1/4 G)."
        )
    generator = MetzGenerator(nz, data_shape[0])
    discriminator = MetzDiscriminator(d_width, data_shape[0], pack)
    generator.apply(init_dcgan_weights)
    discriminator.apply(init_dcgan_weights)
    if spectral_norm:
        spectral_norm_all(discriminator)
    return GANNets(generator, discriminator, nz)
