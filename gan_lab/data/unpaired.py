"""Two image datasets side by side, for unpaired image-to-image translation (CycleGAN): domain A and domain B,
each any image dataset of the lab, each with its own held-out test images."""

import torch
from torch import Tensor
from torch.utils.data import ConcatDataset, Dataset

from gan_lab.data.base import DataModule
from gan_lab.errors import ConfigError


def _items(dataset: Dataset, indices: list[int]) -> list:
    getitems = getattr(dataset, "__getitems__", None)  # a cached image folder reads a batch at once
    return getitems(indices) if getitems is not None else [dataset[i] for i in indices]


def mirrored_at_random(images: Tensor) -> Tensor:
    """`images` (N, C, H, W), each flipped left to right with probability 1/2."""
    flip = torch.rand(len(images), device=images.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


class Unpaired(Dataset):
    """Item i: (image i mod |A| of `a`, image i mod |B| of `b`), labels dropped; as long as the larger domain.
    The pairs are fixed and the sampler shuffles their order: each discriminator sees its own domain in a
    new order every epoch, and no loss compares an A image with the B image of its pair, so fixed pairs
    change nothing (CycleGAN's code draws B at random instead)."""

    def __init__(self, a: Dataset, b: Dataset) -> None:
        self.a, self.b = a, b

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitems__(self, indices: list[int]) -> list[tuple[Tensor, Tensor]]:
        a = _items(self.a, [i % len(self.a) for i in indices])
        b = _items(self.b, [i % len(self.b) for i in indices])
        return [(x, y) for (x, _), (y, _) in zip(a, b, strict=True)]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.__getitems__([index])[0]


class UnpairedDataModule(DataModule):
    """Batches of (images of A, images of B) from `domain_a` and `domain_b`, two image DataModules of the same
    sample shape; their own batch size and loader settings are not used, this module's are.

    `yields_pairs`: its batches are (A images, B images), what a translation system trains on.

    `hflip`: each training image is mirrored left to right with probability 1/2 (CycleGAN's default
    augmentation; its random crop is left out, as the images are already cropped to size). The flips are
    drawn on the batch's device in the training process, from the RNG that checkpoints save, so a resumed run
    draws the flips it would have drawn.

    Each domain's test split is held out of its training images: MNIST-style datasets have one, an image
    folder makes one with its `test_share` (CelebA by identity). `fixed_inputs` are the first test images of
    each domain: the inputs of the sample grids.
    """

    yields_pairs = True

    def __init__(
        self,
        domain_a: DataModule,
        domain_b: DataModule,
        batch_size: int,
        num_workers: int | None,
        seed: int = 0,
        val_size: int = 0,
        hflip: bool = True,
    ) -> None:
        # The training split is a pair of datasets, not (images, labels): it is never stored on the device.
        super().__init__(None, batch_size, num_workers, val_size=val_size, seed=seed, on_device=False)
        self.domain_a, self.domain_b = domain_a, domain_b
        self.hflip = hflip
        if domain_a.data_shape != domain_b.data_shape or len(domain_a.data_shape) != 3:
            raise ConfigError(
                f"dataset=unpaired: domain A ({domain_a.name}) gives {tuple(domain_a.data_shape)} and domain "
                f"B ({domain_b.name}) {tuple(domain_b.data_shape)}; translation needs images of one shape: "
                "set dataset.domain_a/domain_b image_size and channels alike."
            )

    @property
    def data_shape(self) -> tuple[int, ...]:
        return self.domain_a.data_shape

    @property
    def name(self) -> str:
        return f"Unpaired({self.domain_a.name}, {self.domain_b.name})"

    def load(self, split: str) -> Dataset:
        return Unpaired(self.domain_a.load(split), self.domain_b.load(split))

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        if self.hflip and self.trainer is not None and self.trainer.training:
            batch = type(batch)(mirrored_at_random(x) if x.dim() == 4 else x for x in batch)
        return batch

    def domain(self, which: str) -> DataModule:
        """Domain `a` or `b`."""
        return {"a": self.domain_a, "b": self.domain_b}[which]

    def fixed_inputs(self, n: int) -> tuple[Tensor, Tensor]:
        """The first `n` test images of A and of B (as many of each: fewer where a split is smaller)."""
        a, b = self.domain_a.load("test"), self.domain_b.load("test")
        indices = list(range(min(n, len(a), len(b))))
        first_a, first_b = ([x for x, _ in _items(d, indices)] for d in (a, b))
        return torch.stack(first_a), torch.stack(first_b)


class Relabelled(Dataset):
    """The images of `dataset`, each with the target `label`."""

    def __init__(self, dataset: Dataset, label: int) -> None:
        self.dataset, self.label = dataset, label

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitems__(self, indices: list[int]) -> list[tuple[Tensor, int]]:
        return [(x, self.label) for x, _ in _items(self.dataset, indices)]

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.__getitems__([index])[0]


class DomainLabelsDataModule(UnpairedDataModule):
    """The images of both domains, each labelled with its domain (0 = A, 1 = B): the training data of the
    domain classifier that reads which domain a translation looks like. Its test split is the domains' test
    splits, the images translation is scored on, so the classifier never trains on them."""

    yields_pairs = False  # (image, domain) batches

    @property
    def num_classes(self) -> int:
        return 2

    @property
    def name(self) -> str:
        return f"DomainLabels({self.domain_a.name}, {self.domain_b.name})"

    def load(self, split: str) -> Dataset:
        return ConcatDataset(
            [Relabelled(self.domain_a.load(split), 0), Relabelled(self.domain_b.load(split), 1)]
        )
