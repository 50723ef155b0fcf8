"""Labelled training data made by a conditional GAN, and labelled subsets of real data: the two halves of
the GAN data-augmentation study (`python -m gan_lab.augment`)."""

from pathlib import Path

import torch
from hydra.utils import instantiate
from torch.utils.data import Dataset, Subset, TensorDataset

from gan_lab.checkpoint import load_nets, pick_device, read_checkpoint
from gan_lab.errors import ConfigError
from gan_lab.generate import sample


class LabelledImages(Dataset):
    """Images in memory with integer labels, items shaped like torchvision's (image, int)."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor) -> None:
        self.images, self.targets = images, targets

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.targets[index])


def labels_of(dataset: Dataset) -> torch.Tensor:
    """The class label of every sample, without loading the samples."""
    if isinstance(dataset, TensorDataset):
        return dataset.tensors[1]
    if isinstance(dataset, Subset):
        return labels_of(dataset.dataset)[dataset.indices]
    targets = getattr(dataset, "targets", None)
    if targets is None:
        raise ConfigError(
            f"{type(dataset).__name__} has no labels: dataset.per_class needs a labelled dataset."
        )
    return torch.as_tensor(targets)


def per_class_subset(dataset: Dataset, per_class: int, seed: int) -> Subset:
    """`per_class` samples of each class, picked at random (fixed by `seed`)."""
    labels = labels_of(dataset)
    generator = torch.Generator().manual_seed(seed)
    picked = []
    for c in labels.unique().tolist():
        members = (labels == c).nonzero().flatten()
        if len(members) < per_class:
            raise ConfigError(
                f"dataset.per_class={per_class}, but class {c} has only {len(members)} training samples."
            )
        picked.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return Subset(dataset, torch.cat(picked).sort().values.tolist())


def synthetic_dataset(
    ckpt: str | Path, n: int, data_shape: tuple[int, ...], num_classes: int | None, seed: int
) -> LabelledImages:
    """`n` samples of a conditional GAN checkpoint with their labels, classes in turn (balanced)."""
    checkpoint, run = read_checkpoint(ckpt)
    trained_on = tuple(instantiate(run.dataset).data_shape)
    if trained_on != tuple(data_shape):
        raise ConfigError(
            f"dataset.synthetic={ckpt} makes samples of shape {trained_on}; this dataset's are "
            f"{tuple(data_shape)}."
        )
    nets = load_nets(checkpoint, run, trained_on)
    if not nets.num_classes or nets.num_classes != num_classes:
        raise ConfigError(
            f"dataset.synthetic={ckpt} must be a conditional GAN with this dataset's {num_classes} classes "
            f"(it has {nets.num_classes or 'no'} classes): train one with model=cdcgan."
        )
    labels = torch.arange(n) % num_classes
    device = pick_device("auto")
    images = sample(nets.generator.to(device), nets.nz, n, seed, 500, device, labels)
    return LabelledImages(images, labels)
