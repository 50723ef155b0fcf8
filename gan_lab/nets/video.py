"""MoCoGAN (Tulyakov et al. 2018): a video generator whose latent space splits into content and motion, an
image discriminator that scores single frames and a video discriminator that scores whole clips.

Clips are (N, C, T, H, W). G draws one content code per clip; a GRU cell turns per-frame noise into a motion
code per frame; one DCGAN decoder renders all N x T frames, each from [content, motion(t)], in one pass.
The flat latent z of a clip holds, in order, its content code, the GRU's initial state and the noise of each
frame: `VideoGenerator.split`, `VideoGenerator.join`.

D_I is DCGAN's discriminator. D_V is a 3D conv net: kernels 3 x 4 x 4, stride 1 in time (padding 1, so any
clip length works, short test clips too) and 2 in space, down to a 4 x 4 map, then one score per frame
position, averaged over time. `downsample` pools each frame 2x before D_V, as DVD-GAN's temporal
discriminator does: a quarter of the work.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.errors import ConfigError
from gan_lab.nets.dcgan import Discriminator, Generator
from gan_lab.nets.init import init_dcgan_weights
from gan_lab.nets.layers import spectral_norm_all


@dataclass
class VideoGANNets:
    generator: nn.Module  # z of shape (B, nz) -> clip (B, C, T, H, W) in [-1, 1]
    image_discriminator: nn.Module  # frames (B, C, H, W) -> logits (B,)
    video_discriminator: nn.Module  # clips (B, C, T, H, W) -> logits (B,)
    nz: int  # the flat latent size of one clip
    num_classes: int = 0  # unconditional


class VideoGenerator(nn.Module):
    """MoCoGAN's G: content (`content_dim`, one per clip) and motion (`motion_dim` per frame, from a GRU cell)
    codes, rendered frame by frame by a shared image `decoder` that takes content_dim + motion_dim."""

    def __init__(self, decoder: nn.Module, content_dim: int, motion_dim: int, frames: int) -> None:
        super().__init__()
        self.decoder, self.frames = decoder, frames
        self.content_dim, self.motion_dim = content_dim, motion_dim
        self.motion = nn.GRUCell(motion_dim, motion_dim)

    @property
    def nz(self) -> int:
        return self.content_dim + self.motion_dim * (self.frames + 1)

    def split(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """A flat latent (N, nz) -> content (N, content_dim), GRU initial state (N, motion_dim) and per-frame
        noise (N, frames, motion_dim)."""
        content, start, noise = z.split([self.content_dim, self.motion_dim, self.motion_dim * self.frames], 1)
        return content, start, noise.reshape(len(z), self.frames, self.motion_dim)

    def join(self, content: Tensor, start: Tensor, noise: Tensor) -> Tensor:
        """`split`'s inverse: clips that share a content code and differ in motion, or the reverse."""
        return torch.cat([content, start, noise.flatten(1)], dim=1)

    def motion_codes(self, start: Tensor, noise: Tensor) -> Tensor:
        """(N, frames, motion_dim): the GRU's hidden state after each frame's noise."""
        hidden, codes = start, []
        for t in range(noise.shape[1]):
            hidden = self.motion(noise[:, t], hidden)
            codes.append(hidden)
        return torch.stack(codes, dim=1)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        content, start, noise = self.split(z)
        motion = self.motion_codes(start, noise)
        n, frames = motion.shape[:2]
        codes = torch.cat([content[:, None].expand(-1, frames, -1), motion], dim=2)
        images = self.decoder(codes.flatten(0, 1))  # all N x T frames in one pass
        return images.view(n, frames, *images.shape[1:]).transpose(1, 2)


class VideoDiscriminator(nn.Module):
    """D_V: 3D convolutions over (C, T, H, W), stride 1 in time and 2 in space, to one logit per clip."""

    def __init__(self, ndf: int, channels: int, image_size: int, downsample: bool = False) -> None:
        super().__init__()
        self.downsample = downsample
        size = image_size // 2 if downsample else image_size
        if size < 8 or size & (size - 1):
            raise ConfigError(
                f"dataset.image_size={image_size}{' pooled 2x' if downsample else ''} gives {size} px frames "
                "to the video discriminator: it needs a power of two of 8 or more."
            )
        layers: list[nn.Module] = [nn.Conv3d(channels, ndf, (3, 4, 4), (1, 2, 2), (1, 1, 1), bias=False)]
        layers.append(nn.LeakyReLU(0.2, True))
        width, size = ndf, size // 2
        while size > 4:
            layers += [
                nn.Conv3d(width, width * 2, (3, 4, 4), (1, 2, 2), (1, 1, 1), bias=False),
                nn.BatchNorm3d(width * 2),
                nn.LeakyReLU(0.2, True),
            ]
            width, size = width * 2, size // 2
        layers.append(nn.Conv3d(width, 1, (1, 4, 4), 1, 0, bias=False))  # one score per frame position
        self.main = nn.Sequential(*layers)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if self.downsample:
            x = F.avg_pool3d(x, (1, 2, 2))
        return self.main(x).mean(dim=(1, 2, 3, 4))


def frames_of(clips: Tensor) -> Tensor:
    """(N, C, T, H, W) -> (N x T, C, H, W): every frame, for D_I."""
    return clips.transpose(1, 2).flatten(0, 1)


def mocogan(
    data_shape: tuple[int, ...],
    num_classes: int | None = None,
    content_dim: int = 50,
    motion_dim: int = 10,
    ngf: int = 64,
    ndf: int = 64,
    spectral_norm: bool = False,
    video_downsample: bool = False,
) -> VideoGANNets:
    """MoCoGAN's networks for clips of `data_shape` = (channels, frames, size, size): the DCGAN decoder and
    D_I at the frame size, D_V over whole clips. `spectral_norm` on every layer of both discriminators."""
    if len(data_shape) != 4 or data_shape[2] != data_shape[3]:
        raise ConfigError(
            f"model=mocogan needs clips (C, T, H, W) of square frames; this dataset gives shape "
            f"{data_shape}: use a video dataset (dataset=moving_mnist or video_folder)."
        )
    channels, frames, size, _ = data_shape
    generator = VideoGenerator(Generator(content_dim + motion_dim, ngf, channels, size), content_dim,
                               motion_dim, frames)  # fmt: skip
    image_d = Discriminator(ndf, channels, size)
    video_d = VideoDiscriminator(ndf, channels, size, video_downsample)
    for net in (generator.decoder, image_d, video_d):
        net.apply(init_dcgan_weights)
    if spectral_norm:
        spectral_norm_all(image_d)
        spectral_norm_all(video_d)
    return VideoGANNets(generator, image_d, video_d, generator.nz)
