"""Nearest training neighbours of generated samples in a feature space: the check for memorization. A
generator that copies its training set puts each sample next to a near-identical training image."""

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from gan_lab.metrics.features import Extractor


@torch.inference_mode()
def dataset_features(extractor: Extractor, dataset: Dataset, batch_size: int) -> Tensor:
    """The features of every item of `dataset`, in its order (row i is item i)."""
    device = next(extractor.parameters()).device
    loader = DataLoader(dataset, batch_size=batch_size)  # in order: rows index the dataset
    return torch.cat([extractor(batch[0].to(device))[0].cpu() for batch in loader])


def nearest(queries: Tensor, pool: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """For each query row, the Euclidean distances to its `k` nearest `pool` rows and their indices, nearest
    first; both of shape (len(queries), k)."""
    distances = torch.cdist(queries.float(), pool.float())
    return distances.topk(k, dim=1, largest=False)
