"""The supervised baseline: a classifier of the dataset's labels (also the metric feature extractor). Targets
of shape (B, classes) are multi-hot: each class is a yes/no of its own (the video judge reads which digits a
frame shows)."""

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim import Optimizer

from gan_lab.systems.base import System


class Classifier(System):
    """Trains `net(data_shape, num_classes)` with cross-entropy; one optimizer step per batch."""

    def __init__(
        self,
        net: Callable[..., nn.Module],
        optimizer: Callable[..., Optimizer],
        data_shape: tuple[int, ...],
        num_classes: int | None = None,
        grad_clip: float | None = None,
        seed: int = 0,
        channels_last: bool = False,
    ) -> None:
        super().__init__({"net": optimizer}, seed, grad_clip, channels_last)
        self.net = net(data_shape=tuple(data_shape), num_classes=num_classes)
        self.num_classes = num_classes or 0

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {"net": self.net}

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def _loss_and_accuracy(self, batch) -> tuple[Tensor, Tensor]:
        """The loss and the share of samples read right: the class, or every yes/no of a multi-hot target."""
        x, y = self.real_batch(batch)
        logits = self.net(x)
        if y.dim() == 2:
            right = ((logits > 0) == (y > 0.5)).all(1)
            return F.binary_cross_entropy_with_logits(logits, y.float()), right.float().mean()
        return F.cross_entropy(logits, y), (logits.argmax(1) == y).float().mean()

    def training_step(self, batch, batch_idx: int) -> dict[str, Tensor]:
        loss, acc = self._loss_and_accuracy(batch)
        self.update(self.named_optimizers()["net"], loss)
        self.steps_done += 1
        return {"train/loss": loss.detach(), "train/acc": acc.detach()}

    def _evaluate(self, batch, stage: str) -> None:
        loss, acc = self._loss_and_accuracy(batch)
        self.log_dict({f"{stage}/loss": loss, f"{stage}/acc": acc}, on_epoch=True, sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")
