"""2D Gaussian mixtures, the mode-collapse benchmarks of VEEGAN and PacGAN. Sampled in memory, no files."""

import math

import torch
from torch.utils.data import Dataset, TensorDataset

from gan_lab.data.base import DataModule
from gan_lab.errors import ConfigError


def grid_means(side: int, spacing: float) -> torch.Tensor:
    """side x side means centred on the origin: side=5, spacing=2 gives {-4,-2,0,2,4}^2."""
    axis = (torch.arange(side) - (side - 1) / 2) * spacing
    return torch.cartesian_prod(axis, axis)


def ring_means(modes: int, radius: float) -> torch.Tensor:
    angles = torch.arange(modes) * (2 * math.pi / modes)
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


class GaussianMixtureDataModule(DataModule):
    """`num_samples` points drawn once, with a fixed seed, from equal-weight isotropic Gaussians at `means`.

    The target of each point is the index of the mode it was drawn from.
    """

    def __init__(self, means: torch.Tensor, std: float, num_samples: int, **kwargs) -> None:
        super().__init__(root=None, **kwargs)
        if std <= 0 or num_samples <= 0:
            raise ConfigError(
                f"dataset.std={std} and dataset.num_samples={num_samples} must both be positive."
            )
        self.means, self.std, self.num_samples = means, std, num_samples

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def num_classes(self) -> int:
        return len(self.means)

    def load(self, split: str) -> Dataset:
        # Different seeds per split, so a "test" set is a fresh draw from the same mixture.
        generator = torch.Generator().manual_seed(self.seed + (0 if split == "train" else 1))
        modes = torch.randint(len(self.means), (self.num_samples,), generator=generator)
        points = self.means[modes] + self.std * torch.randn(self.num_samples, 2, generator=generator)
        return TensorDataset(points, modes)


class GaussianGridDataModule(GaussianMixtureDataModule):
    def __init__(self, side: int, spacing: float, std: float, num_samples: int, **kwargs) -> None:
        super().__init__(grid_means(side, spacing), std, num_samples, **kwargs)


class GaussianRingDataModule(GaussianMixtureDataModule):
    def __init__(self, modes: int, radius: float, std: float, num_samples: int, **kwargs) -> None:
        super().__init__(ring_means(modes, radius), std, num_samples, **kwargs)
