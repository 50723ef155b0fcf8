"""An exponential moving average of the generator's weights (Karras et al. 2018; Yazıcı et al. 2019).

The averaged G smooths out the oscillation of adversarial training and usually samples better than the live
one; it is what sample grids and metrics use when `ema` is on. Torch only: the training system owns the copy
and calls `EMA.update` after each G step.
"""

import copy

import torch
from torch import nn

from gan_lab.errors import ConfigError


def ema_copy(net: nn.Module) -> nn.Module:
    """The averaged network's starting point: a deep copy of `net` (parametrizations such as spectral norm
    included) whose parameters take no gradients, since only `EMA.update` changes them."""
    return copy.deepcopy(net).requires_grad_(False)


class EMA:
    """How the average moves: a fixed `decay` per G step, or stylegan2-ada's `half_life_images` (the number
    of images after which an old weight counts half), which stays the same when the batch size changes.
    Until G step `start_step` the average copies the live weights, so it starts from trained weights rather
    than the initialization."""

    def __init__(
        self, decay: float | None = None, half_life_images: float | None = None, start_step: int = 0
    ) -> None:
        if (decay is None) == (half_life_images is None):
            raise ConfigError(
                f"ema.decay={decay} and ema.half_life_images={half_life_images}: set exactly one of them "
                "(e.g. ema.decay=0.999, or ema.half_life_images=10000 with ema.decay=null)."
            )
        if decay is not None and not 0.0 < decay < 1.0:
            raise ConfigError(
                f"ema.decay={decay}: it must lie strictly between 0 and 1, e.g. ema.decay=0.999."
            )
        if half_life_images is not None and not half_life_images > 0:
            raise ConfigError(
                f"ema.half_life_images={half_life_images}: it must be > 0, e.g. ema.half_life_images=10000."
            )
        if start_step < 0:
            raise ConfigError(
                f"ema.start_step={start_step}: it must be >= 0 (0 = average from the first step)."
            )
        self.decay, self.half_life_images, self.start_step = decay, half_life_images, start_step

    def beta(self, batch_size: int) -> float:
        """The weight the old average keeps at one G step of `batch_size` images (across all processes)."""
        if self.decay is not None:
            return self.decay
        return 0.5 ** (batch_size / self.half_life_images)

    @torch.no_grad()
    def update(self, ema_net: nn.Module, net: nn.Module, step: int, batch_size: int) -> None:
        """Move `ema_net` towards `net` after G step `step` (1-based: the number of G updates done).

        While step <= start_step the weights are copied exactly; after, each floating-point parameter becomes
        beta * p_ema + (1 - beta) * p, computed in place as `p_ema.lerp_(p, 1 - beta)`, i.e.
        p_ema + (1 - beta) * (p - p_ema): the same value as stylegan2-ada's `p.lerp(p_ema, beta)` up to
        rounding, with no temporary copy, and exact where p == p_ema. Buffers (batch-norm running statistics,
        spectral-norm u and v vectors) are copied, as stylegan2-ada does. Tensors are matched by name, so a
        spectrally normalized layer averages its `parametrizations.weight.original`, the trained weight.
        """
        live_params, live_buffers = dict(net.named_parameters()), dict(net.named_buffers())
        ema_params, ema_buffers = dict(ema_net.named_parameters()), dict(ema_net.named_buffers())
        if live_params.keys() != ema_params.keys() or live_buffers.keys() != ema_buffers.keys():
            different = sorted(
                (live_params.keys() ^ ema_params.keys()) | (live_buffers.keys() ^ ema_buffers.keys())
            )
            raise ValueError(f"the EMA copy and the network differ in tensors: {different[:5]}")
        average = step > self.start_step
        weight = 1.0 - self.beta(batch_size)
        for name, p_ema in ema_params.items():
            p = live_params[name]
            if average and p_ema.is_floating_point():
                p_ema.lerp_(p, weight)
            else:
                p_ema.copy_(p)
        for name, b_ema in ema_buffers.items():
            b_ema.copy_(live_buffers[name])
