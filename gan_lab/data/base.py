"""The LightningDataModule shared by every dataset: splits, loaders and the resumable training stream."""

from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, random_split

from gan_lab.data.sampler import ResumableSampler
from gan_lab.data.synthetic import per_class_subset, synthetic_dataset
from gan_lab.errors import ConfigError


class DataModule(pl.LightningDataModule):
    """Subclasses say what one sample looks like (`data_shape`) and how to load a split (`load`).

    `batch_size` is per process (per GPU under DDP). `val_size` samples are held out of the training split for
    validation (0 for GANs, which train on everything). Training batches come from an endless
    `ResumableSampler`, so a run is as long as `train.steps` says and resumes mid-stream.

    For labelled data, `per_class` keeps only that many training samples of each class (picked by `seed`),
    and `synthetic` (a conditional GAN checkpoint) adds `synthetic_ratio` generated samples per real training
    sample, with their labels: the GAN data-augmentation study.
    """

    def __init__(
        self,
        root: str | Path | None,
        batch_size: int,
        num_workers: int,
        val_size: int = 0,
        seed: int = 0,
        per_class: int | None = None,
        synthetic: str | None = None,
        synthetic_ratio: float = 1.0,
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
        if num_workers < 0:
            raise ConfigError(
                f"dataset.num_workers={num_workers}: it must be 0 (load in the main process) or more."
            )
        self.root = Path(root).expanduser() if root is not None else None
        self.batch_size, self.num_workers, self.val_size, self.seed = batch_size, num_workers, val_size, seed
        self.train_set: Dataset | None = None
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
                made = synthetic_dataset(self.synthetic, n, self.data_shape, self.num_classes, self.seed)
                self.train_set = ConcatDataset([self.train_set, made])
        if stage in ("test", None) and self.test_set is None:
            self.test_set = self.load("test")

    def _steps_done(self) -> int:
        """Batches already trained on (every training step consumes one batch); 0 outside a fit."""
        module = self.trainer.lightning_module if self.trainer is not None else None
        return getattr(module, "steps_done", 0)

    def train_dataloader(self) -> DataLoader:
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        sampler = ResumableSampler(
            len(self.train_set),
            self.seed,
            start=self._steps_done() * self.batch_size,
            rank=rank,
            world_size=world,
        )
        return self._loader(self.train_set, sampler=sampler, drop_last=True)

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
