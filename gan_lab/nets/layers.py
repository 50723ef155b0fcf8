"""Layers the builders share: maxout units, spectral normalization, minibatch standard deviation, packing.

Torch only. The discriminator options of every builder (`spectral_norm`, `minibatch_std`, `pack`) are these.
"""

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from gan_lab.errors import ConfigError

# The layers `spectral_norm_all` normalizes. nn.Embedding is among them: the label embedding of a projection
# discriminator is normalized too, as in the reference projection discriminators: Miyato & Koyama's own code
# (pfnet-research/sngan_projection, dis_models/snresnet_32.py: `SNEmbedID` for `l_y`) and StudioGAN's
# (src/models/dcgan.py: `sn_embedding` for conditional_strategy projGAN when d_spectral_norm). The reason:
# for a fixed label, the projection term <embed(y), h> is a linear map of h whose Lipschitz constant is the
# norm of embed(y)'s row, which the embedding matrix's spectral norm bounds; left alone, that term would be
# the one unbounded path through a spectrally normalized D.
_NORMALIZED = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.Linear,
    nn.Embedding,
)


class Maxout(nn.Module):
    """A linear layer with `pieces` outputs per unit, keeping the largest (Goodfellow et al. 2013)."""

    def __init__(self, fan_in: int, fan_out: int, pieces: int) -> None:
        super().__init__()
        self.pieces, self.linear = pieces, nn.Linear(fan_in, fan_out * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).unflatten(-1, (-1, self.pieces)).amax(dim=-1)


def spectral_norm_all(module: nn.Module) -> nn.Module:
    """Spectral normalization (Miyato et al. 2018) of every conv, linear (Maxout's included) and embedding
    layer of `module`, in place; returns `module`.

    The parametrization API (torch.nn.utils.parametrizations), not the older hook one: it survives deepcopy
    (the EMA copy), state_dict round trips and torch.compile. One power iteration per training forward, the
    default and the paper's. Weights become `<layer>.parametrizations.weight.original` in the state_dict.
    Layers that are already parametrized are left as they are, so calling it twice is harmless.
    """
    for layer in list(module.modules()):  # a list: registering adds modules while we walk
        if isinstance(layer, _NORMALIZED) and not parametrize.is_parametrized(layer, "weight"):
            spectral_norm(layer)  # dim 1 for transposed convs (their output axis), 0 otherwise
    return module


class MinibatchStd(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018), as stylegan2-ada's MinibatchStdLayer: lets D see
    how varied a batch is, so a G that collapses to a few samples is easy to tell apart.

    Groups of G = min(group_size, B) samples: sample i belongs to group i mod (B / G), as in stylegan2-ada.
    The standard deviation over each group (population formula, +1e-8 under the root), per feature, is
    averaged over the features of each of `num_channels` channel groups and appended as `num_channels`
    constant feature maps, or features for (B, F) inputs. `extra_channels` says how much wider the next
    layer's input is.
    """

    def __init__(self, group_size: int = 4, num_channels: int = 1) -> None:
        super().__init__()
        if group_size < 1 or num_channels < 1:
            raise ConfigError(
                f"system.nets.minibatch_std={group_size} with {num_channels} channels: both must be >= 1 "
                "(system.nets.minibatch_std=0 turns the layer off)."
            )
        self.group_size, self.num_channels = group_size, num_channels
        self.extra_channels = num_channels

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, *spatial = x.shape
        group = min(self.group_size, batch)
        if batch % group:
            raise ConfigError(
                f"system.nets.minibatch_std={self.group_size} needs a batch divisible by the group size "
                f"{group}, got a batch of {batch}: set dataset.batch_size to a multiple of {group}."
            )
        if channels % self.num_channels:
            raise ValueError(
                f"MinibatchStd with {self.num_channels} channel groups needs the channels ({channels}) to "
                "be divisible by them."
            )
        y = x.reshape(group, -1, self.num_channels, channels // self.num_channels, *spatial)
        y = (y - y.mean(dim=0)).square().mean(dim=0)  # variance over each group: (B/G, F, C/F, *spatial)
        y = (y + 1e-8).sqrt().flatten(2).mean(dim=2)  # (B/G, F): averaged over channels and positions
        y = y.reshape(-1, self.num_channels, *([1] * len(spatial))).repeat(group, 1, *spatial)
        return torch.cat([x, y], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}"


class Pack(nn.Module):
    """PacGAN packing (Lin et al. 2018): D judges `m` samples at once, joined along the channel (images,
    (B, C, H, W) -> (B/m, m*C, H, W)) or feature axis ((B, F) -> (B/m, m*F)), so a G that covers few modes
    shows it as packs of too-similar samples. Consecutive samples are joined: packed[0] is x[0], ..., x[m-1].
    D then returns B/m logits, which the loss uses as they are. m = 1 is the identity."""

    def __init__(self, m: int) -> None:
        super().__init__()
        if m < 1:
            raise ConfigError(f"system.nets.pack={m}: the pack size must be >= 1 (1 = no packing).")
        self.m = m

    def forward(self, x: Tensor) -> Tensor:
        if self.m == 1:
            return x
        batch, channels, *rest = x.shape
        if batch % self.m:
            raise ConfigError(
                f"system.nets.pack={self.m} needs a batch divisible by {self.m}, got a batch of {batch}: set "
                f"dataset.batch_size to a multiple of {self.m}."
            )
        return x.reshape(batch // self.m, self.m * channels, *rest)

    def extra_repr(self) -> str:
        return f"m={self.m}"
