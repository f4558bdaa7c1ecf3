"""Samplers that keep distributed evaluation exact."""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import Dataset, DistributedSampler

PLACEHOLDER = -1
"""Index a process gets when its shard of an evaluation set is empty (read as an ignored item)."""

IGNORE_LABEL = -100
"""Label of a placeholder item: counted nowhere (``F.cross_entropy``'s default ``ignore_index``)."""


class UnpaddedDistributedSampler(DistributedSampler):
    """Shards ``range(len(dataset))`` as ``rank, rank + world, ...`` without padding.

    torch's ``DistributedSampler`` repeats samples so that every rank gets the same count, which
    makes summed accuracies count some examples twice. Here each example is seen exactly once
    across ranks; ranks may get one batch fewer, which evaluation tolerates. A rank whose shard
    is empty (a set smaller than the number of processes) gets one :data:`PLACEHOLDER` index,
    which :class:`PlaceholderItems` reads as an item labelled :data:`IGNORE_LABEL` that counts
    nowhere: Lightning skips every evaluation hook on a process without batches, which would
    leave the other processes waiting in the next collective. Subclassing
    ``DistributedSampler`` tells Lightning not to inject its own (padding) sampler.
    """

    def __init__(self, dataset: Sized, num_replicas: int = 1, rank: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False)  # type: ignore[arg-type]
        self.total_size = len(dataset)
        self.num_samples = len(range(rank, self.total_size, num_replicas))

    def __iter__(self) -> Iterator[int]:
        if self.num_samples == 0 and self.total_size > 0:
            return iter([PLACEHOLDER])
        return iter(range(self.rank, self.total_size, self.num_replicas))

    def __len__(self) -> int:
        return self.num_samples or (1 if self.total_size > 0 else 0)


class PlaceholderItems(Dataset):
    """``dataset`` whose :data:`PLACEHOLDER` index is its first image labelled :data:`IGNORE_LABEL`."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        if index == PLACEHOLDER:
            image = self.dataset[0][0]
            return image, IGNORE_LABEL
        return self.dataset[index]


def counted(labels: torch.Tensor) -> torch.Tensor:
    """Mask of the labels that count (not placeholders)."""
    return labels != IGNORE_LABEL
