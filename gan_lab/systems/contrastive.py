"""Self-supervised training of a feature encoder (SimCLR): the domain feature space of the face metrics."""

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from gan_lab.objectives.contrastive import SimCLRViews, nt_xent
from gan_lab.systems.base import System


class ContrastiveEncoder(System):
    """Trains `net(data_shape)` (with `features` and a projection `forward`) on two views of each batch."""

    def __init__(
        self,
        net: Callable[..., nn.Module],
        optimizer: Callable[..., Optimizer],
        data_shape: tuple[int, ...],
        num_classes: int | None = None,
        temperature: float = 0.2,
        min_scale: float = 0.2,
        grad_clip: float | None = None,
        seed: int = 0,
        channels_last: bool = False,
    ) -> None:
        super().__init__({"net": optimizer}, seed, grad_clip, channels_last)
        self.net = net(data_shape=tuple(data_shape), num_classes=num_classes)
        self.views = SimCLRViews(self.net.input_size, min_scale)
        self.temperature = temperature

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {"net": self.net}

    def forward(self, x: Tensor) -> Tensor:
        return self.net.features(x)

    def training_step(self, batch, batch_idx: int) -> dict[str, Tensor]:
        x, _ = self.real_batch(batch)
        # One pass over both views: BatchNorm sees the 2N views as one batch, as in SimCLR.
        first, second = self.net(torch.cat([self.views(x), self.views(x)])).chunk(2)
        loss, partner_found = nt_xent(first, second, self.temperature)
        self.update(self.named_optimizers()["net"], loss)
        self.steps_done += 1
        return {"train/loss": loss.detach(), "train/partner_top1": partner_found.detach()}
