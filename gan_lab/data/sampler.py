"""An endless, resumable, per-rank shuffle of a dataset's indices."""

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class ResumableSampler(Sampler[int]):
    """Yields a fixed global stream of indices: epoch e is `randperm(size)` seeded by (seed, e), back to back.

    Rank r of `world_size` takes every world_size-th element starting at r, so ranks never share a sample.
    `start` is the number of indices this rank has already consumed; a resumed run passes it to continue the
    stream exactly where the interrupted run left it, which is what makes resume bit-identical.
    The stream has no end: training length is set by `train.steps`, not by epochs.
    """

    def __init__(self, size: int, seed: int, start: int = 0, rank: int = 0, world_size: int = 1) -> None:
        self.size, self.seed, self.start, self.rank, self.world_size = size, seed, start, rank, world_size

    def _permutation(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.size, generator=generator)

    def __iter__(self) -> Iterator[int]:
        position = self.start * self.world_size + self.rank
        epoch, permutation = -1, None
        while True:
            e, i = divmod(position, self.size)
            if e != epoch:
                epoch, permutation = e, self._permutation(e)
            yield int(permutation[i])
            position += self.world_size

    def batches(self, batch_size: int, device: torch.device | str = "cpu") -> Iterator[torch.Tensor]:
        """The same stream cut into `batch_size` indices at a time (as a DataLoader with this sampler and
        drop_last cuts it), as index tensors on `device`: for indexing data that lives there. Each epoch's
        permutation is drawn as in `__iter__` and copied to `device` once."""
        position = self.start * self.world_size + self.rank
        offsets = torch.arange(batch_size, device=device) * self.world_size
        permutations: dict[int, torch.Tensor] = {}
        while True:
            first, last = position // self.size, (position + (batch_size - 1) * self.world_size) // self.size
            permutations = {
                e: permutations[e] if e in permutations else self._permutation(e).to(device)
                for e in range(first, last + 1)
            }
            stream = torch.cat(list(permutations.values())) if last > first else permutations[first]
            yield stream[offsets + (position - first * self.size)]
            position += batch_size * self.world_size
