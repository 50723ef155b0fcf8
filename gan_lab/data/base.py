"""The LightningDataModule shared by every dataset: splits, loaders and the resumable training stream."""

import math
import os
from collections.abc import Iterator
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info
from torch.utils.data import ConcatDataset, DataLoader, Dataset, random_split

from gan_lab.data.sampler import ResumableSampler
from gan_lab.data.synthetic import per_class_subset, synthetic_dataset
from gan_lab.errors import ConfigError

# dataset.on_device may take at most this share of the accelerator's free memory; the rest is the networks'.
DEVICE_SHARE = 0.5
# dataset.on_device=null (auto) keeps the training split on the device when its float32 samples take at most
# this much (and DEVICE_SHARE of a GPU's free memory): MNIST and Fashion-MNIST (0.19 GB), the 4,000 anime
# faces at 64 px (0.20 GB) or 16,000 of them (0.79 GB); not CelebA (9.9 GB at 64 px), Stacked MNIST (1.2 GB).
AUTO_DEVICE_BYTES = 2**30
# dataset.num_workers=null (auto): no loader workers on a machine of at most FEW_CORES cores, where they would
# compete for the cores with torch's threads (one per core) and batches are cheapest made between steps;
# else AUTO_WORKERS of them (benchmarks/README.md, "the gap at the defaults").
FEW_CORES = 2
AUTO_WORKERS = 2


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def auto_workers(cores: int | None = None) -> int:
    """What dataset.num_workers=null means on a machine of `cores` cores (default: this one's)."""
    cores = usable_cores() if cores is None else cores
    return 0 if cores <= FEW_CORES else AUTO_WORKERS


class DeviceBatches:
    """Training batches indexed out of tensors that already sit on the accelerator, in the order of a
    `ResumableSampler`: the batches a DataLoader over the same split would give, without worker processes
    or a host-to-device copy per batch (only each epoch's permutation is copied). Endless, like the sampler;
    no `__len__`, like a DataLoader over it: Lightning runs it to `max_steps`."""

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, sampler: ResumableSampler, batch_size: int
    ) -> None:
        self.images, self.labels, self.sampler, self.batch_size = images, labels, sampler, batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for index in self.sampler.batches(self.batch_size, self.images.device):
            yield self.images[index], self.labels[index]


class DataModule(pl.LightningDataModule):
    """Subclasses say what one sample looks like (`data_shape`) and how to load a split (`load`).

    `batch_size` is per process (per GPU under DDP). `val_size` samples are held out of the training split for
    validation (0 for GANs, which train on everything). Training batches come from an endless
    `ResumableSampler`, so a run is as long as `train.steps` says and resumes mid-stream.

    For labelled data, `per_class` keeps only that many training samples of each class (picked by `seed`),
    and `synthetic` (a file of a conditional GAN's samples) adds `synthetic_ratio` generated samples per real
    training sample, with their labels: the GAN data-augmentation study.

    `on_device` keeps the whole training split on the accelerator (as float32 samples, see `_split_on`) and
    draws batches there (`DeviceBatches`) instead of through a DataLoader: for small datasets, whose loading
    then costs nothing per step. None (auto) does so when the split is small (AUTO_DEVICE_BYTES, and half the
    GPU's free memory) and drawn without per-access randomness (no `augment`). `num_workers` None (auto) is
    `auto_workers()`: 0 on a machine of 2 cores or fewer. Neither changes which batches a run trains on:
    both paths follow the same `ResumableSampler`, whatever the worker count.
    """

    # Whether training samples are jittered anew at each access (image datasets with dataset.augment): such a
    # split cannot be decoded once and kept on the device.
    augment: bool = False

    def __init__(
        self,
        root: str | Path | None,
        batch_size: int,
        num_workers: int | None,
        val_size: int = 0,
        seed: int = 0,
        per_class: int | None = None,
        synthetic: str | None = None,
        synthetic_ratio: float = 1.0,
        on_device: bool | None = False,
    ):
        super().__init__()
        if per_class is not None and per_class <= 0:
            raise ConfigError(f"dataset.per_class={per_class}: use a positive count, or null for all.")
        if synthetic is not None and synthetic_ratio <= 0:
            raise ConfigError(f"dataset.synthetic_ratio={synthetic_ratio}: use a positive ratio.")
        self.per_class, self.synthetic, self.synthetic_ratio = per_class, synthetic, synthetic_ratio
        if batch_size <= 0:
            raise ConfigError(
                f"dataset.batch_size={batch_size}: it must be a positive integer (DCGAN uses 128)."
            )
        if num_workers is None:  # auto: resolved here, so that every loader (and evaluation) uses the count
            num_workers = auto_workers()
        elif num_workers < 0:
            raise ConfigError(
                f"dataset.num_workers={num_workers}: it must be 0 (load in the main process), more, "
                "or null (auto)."
            )
        self.root = Path(root).expanduser() if root is not None else None
        self.batch_size, self.num_workers, self.val_size, self.seed = batch_size, num_workers, val_size, seed
        self.on_device = on_device
        self.train_set: Dataset | None = None
        self._device_split: tuple[torch.Tensor, torch.Tensor] | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None

    @property
    def data_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def num_classes(self) -> int | None:
        """How many labels the targets take (for conditional models and classifiers); None when unlabelled."""
        return None

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("DataModule")

    def load(self, split: str) -> Dataset:
        """The full 'train' or 'test' split. Raise DataError naming the folder when it is missing or empty."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            train = self.load("train")
            if self.per_class:
                train = per_class_subset(train, self.per_class, self.seed)
            if self.val_size:
                sizes = [len(train) - self.val_size, self.val_size]
                self.train_set, self.val_set = random_split(
                    train, sizes, torch.Generator().manual_seed(self.seed)
                )
            else:
                self.train_set = train
            if self.synthetic:
                n = round(self.synthetic_ratio * len(self.train_set))
                made = synthetic_dataset(self.synthetic, n, self.data_shape, self.num_classes)
                self.train_set = ConcatDataset([self.train_set, made])
        # The Trainer says which device (run() sets up once before there is one, to fail early).
        if self.trainer is not None and self._keeps_split_on(self.trainer.strategy.root_device):
            self._split_on(self.trainer.strategy.root_device)
        if stage in ("test", None) and self.test_set is None:
            self.test_set = self.load("test")

    def _steps_done(self) -> int:
        """Batches already trained on (every training step consumes one batch); 0 outside a fit."""
        module = self.trainer.lightning_module if self.trainer is not None else None
        return getattr(module, "steps_done", 0)

    def train_dataloader(self) -> DataLoader | DeviceBatches:
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        sampler = ResumableSampler(
            len(self.train_set),
            self.seed,
            start=self._steps_done() * self.batch_size,
            rank=rank,
            world_size=world,
        )
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        if self._keeps_split_on(device):
            setting = "null" if self.on_device is None else "true"
            rank_zero_info(
                f"gan_lab | dataset.on_device={setting}: the training split "
                f"({self._split_bytes() / 2**30:.2f} GiB) is kept on {device}, batches indexed there"
            )
            return DeviceBatches(*self._split_on(device), sampler, self.batch_size)
        return self._loader(self.train_set, sampler=sampler, drop_last=True)

    def _split_bytes(self) -> int:
        return len(self.train_set) * (math.prod(self.data_shape) * 4 + 8)  # float32 samples, int64 labels

    def _keeps_split_on(self, device: torch.device) -> bool:
        """Whether training batches are drawn from the split on `device` (`on_device`, or its auto rule)."""
        if self.on_device is not None:
            return self.on_device
        if self._device_split is not None and self._device_split[0].device == device:
            return True  # decided before (free GPU memory is lower now that the split is there)
        if self.augment:
            return False
        needed = self._split_bytes()
        limit = AUTO_DEVICE_BYTES
        if device.type == "cuda":
            limit = min(limit, DEVICE_SHARE * torch.cuda.mem_get_info(device)[0])
        return needed <= limit

    def _split_on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The training split as one tensor of samples and one of labels on `device`; built once.

        The samples are stored as the Dataset returns them (float32, normalised), not as uint8: 4x the memory
        of the pixels, but they are the DataLoader path's samples by construction, for every dataset (resized
        MNIST, cached image folders, subsets, generated samples), and a step only indexes them.
        """
        if self._device_split is not None and self._device_split[0].device == device:
            return self._device_split
        self._device_split = None  # a split on another device is dropped before a new one is built
        size, needed = len(self.train_set), self._split_bytes()
        if device.type == "cuda":  # elsewhere (CPU) the "device" memory is RAM, which the host manages
            free, _ = torch.cuda.mem_get_info(device)
            if needed > DEVICE_SHARE * free:
                raise ConfigError(
                    f"dataset.on_device=true: the training split needs {needed / 2**30:.2f} GiB on {device}, "
                    f"more than {DEVICE_SHARE:.0%} of its {free / 2**30:.2f} GiB free memory. "
                    "Set dataset.on_device=false to load it batch by batch."
                )
        images = torch.empty((size, *self.data_shape), device=device)
        target = torch.as_tensor(self.train_set[0][1])  # a class index, or a multi-hot vector
        labels = torch.empty((size, *target.shape), dtype=target.dtype, device=device)
        # In order, and with its own generator: building the split must not draw from the global RNG.
        loader = DataLoader(
            self.train_set, batch_size=1024, num_workers=self.num_workers, generator=torch.Generator()
        )
        done = 0
        for x, y in loader:
            images[done : done + len(x)], labels[done : done + len(x)] = x, y
            done += len(x)
        self._device_split = images, labels
        return self._device_split

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(self.val_set) if self.val_set is not None else []  # [] = no validation

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set)

    def _loader(self, dataset: Dataset, **kwargs) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
            # Its own generator: creating a loader must not draw from the global RNG (resume equality).
            generator=torch.Generator().manual_seed(self.seed),
            **kwargs,
        )

    def real_samples(self, n: int) -> torch.Tensor:
        """The first `n` training samples, for side-by-side plots."""
        dataset = self.train_set if self.train_set is not None else self.load("train")
        return torch.stack([dataset[i][0] for i in range(min(n, len(dataset)))])
