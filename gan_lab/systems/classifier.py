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

    def _scores(self, batch) -> dict[str, Tensor]:
        """The loss and `acc`, the share of samples read right: the class, or every yes/no of a multi-hot
        target; for multi-hot targets also `label_acc`, the share of yes/no answers right."""
        x, y = self.real_batch(batch)
        logits = self.net(x)
        if y.dim() == 2:
            right = (logits > 0) == (y > 0.5)
            loss = F.binary_cross_entropy_with_logits(logits, y.float())
            return {"loss": loss, "acc": right.all(1).float().mean(), "label_acc": right.float().mean()}
        return {"loss": F.cross_entropy(logits, y), "acc": (logits.argmax(1) == y).float().mean()}

    def training_step(self, batch, batch_idx: int) -> dict[str, Tensor]:
        scores = self._scores(batch)
        self.update(self.named_optimizers()["net"], scores["loss"])
        self.steps_done += 1
        return {f"train/{name}": value.detach() for name, value in scores.items()}

    def _evaluate(self, batch, stage: str) -> None:
        scores = self._scores(batch)
        self.log_dict({f"{stage}/{k}": v for k, v in scores.items()}, on_epoch=True, sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")
