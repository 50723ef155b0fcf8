"""Labelled training data made by a conditional GAN, and labelled subsets of real data: the two halves of
the GAN data-augmentation study (gan_lab/studies/augmentation.py). The study writes the GAN's samples to a
file; the data only reads that file."""

import pickle
from pathlib import Path

import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from gan_lab.errors import ConfigError


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


def save_generated(path: Path, images: torch.Tensor, labels: torch.Tensor) -> Path:
    """Write generated `images` with their `labels` for `dataset.synthetic` to read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"images": images, "labels": labels}, path)
    return path


def synthetic_dataset(
    path: str | Path, n: int, data_shape: tuple[int, ...], num_classes: int | None
) -> LabelledImages:
    """The first `n` generated samples of the file at `path` (written by `save_generated`), with their labels.
    Class i % num_classes for sample i, so any first `n` are balanced."""
    try:
        made = torch.load(Path(path).expanduser(), map_location="cpu", weights_only=True)
        images, labels = made["images"], made["labels"]
    except (OSError, RuntimeError, EOFError, KeyError, TypeError, pickle.UnpicklingError) as error:
        raise ConfigError(
            f"dataset.synthetic={path}: not a file of generated samples ({error}); the augmentation study "
            "writes one per cell (generated.pt)."
        ) from None
    if tuple(images.shape[1:]) != tuple(data_shape):
        raise ConfigError(
            f"dataset.synthetic={path} holds samples of shape {tuple(images.shape[1:])}; this dataset's are "
            f"{tuple(data_shape)}."
        )
    if int(labels.max()) + 1 > (num_classes or 0):
        raise ConfigError(f"dataset.synthetic={path} has labels beyond this dataset's {num_classes} classes.")
    if n > len(images):
        raise ConfigError(f"dataset.synthetic={path} holds {len(images)} samples; {n} are needed.")
    return LabelledImages(images[:n], labels[:n])
