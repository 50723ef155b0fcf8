"""The supervised baseline: a classifier LightningModule with automatic optimization."""

from collections.abc import Callable

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim import Optimizer


class Classifier(pl.LightningModule):
    def __init__(
        self, net: nn.Module, optimizer: Callable[..., Optimizer], lr: float, channels_last: bool = False
    ) -> None:
        super().__init__()
        self.net, self.optimizer, self.lr, self.channels_last = net, optimizer, lr, channels_last

    @property
    def steps_done(self) -> int:
        return self.global_step

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def configure_optimizers(self) -> Optimizer:
        return self.optimizer(self.net.parameters(), lr=self.lr)

    def _step(self, batch, stage: str) -> Tensor:
        x, y = batch
        if self.channels_last:  # as the weights are (train.channels_last): no layout conversion in each conv
            x = x.contiguous(memory_format=torch.channels_last)
        logits = self.net(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
        on_step = stage == "train"
        self.log_dict(
            {f"{stage}/loss": loss, f"{stage}/acc": acc},
            prog_bar=True,
            on_step=on_step,
            on_epoch=not on_step,
            sync_dist=not on_step,
        )
        return loss

    def training_step(self, batch, batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "test")
