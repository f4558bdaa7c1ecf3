"""Samplers that keep distributed evaluation exact."""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import Dataset, DistributedSampler

PLACEHOLDER = -1
"""Index that pads a process's shard of an evaluation set (read as an ignored item)."""

IGNORE_LABEL = -100
"""Label of a placeholder item: counted nowhere (``F.cross_entropy``'s default ``ignore_index``)."""


class EvenShardSampler(DistributedSampler):
    """Shards ``range(len(dataset))`` as ``rank, rank + world, ...``, padded with placeholders.

    Every process gets ``ceil(len(dataset) / world)`` indices, so every process runs the same
    number of batches of the same sizes: under FSDP every forward is a collective, and a process
    with one batch more would wait for (or crash into) the others. torch's
    ``DistributedSampler`` pads by repeating examples, which makes summed accuracies count some
    twice; here the padding is :data:`PLACEHOLDER` indices, which :class:`PlaceholderItems` (and
    :class:`~paint_lightning.data.cache.TensorDataset`) read as items labelled
    :data:`IGNORE_LABEL` that count nowhere, so each example counts exactly once across
    processes. A process whose shard is empty (a set smaller than the number of processes) thus
    still runs every evaluation hook. Subclassing ``DistributedSampler`` tells Lightning not to
    inject its own (repeating) sampler.
    """

    def __init__(self, dataset: Sized, num_replicas: int = 1, rank: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False)  # type: ignore[arg-type]
        self.total_size = len(dataset)
        self.num_samples = -(-self.total_size // num_replicas)
        self.num_real = len(range(rank, self.total_size, num_replicas))

    def __iter__(self) -> Iterator[int]:
        padding = [PLACEHOLDER] * (self.num_samples - self.num_real)
        return iter([*range(self.rank, self.total_size, self.num_replicas), *padding])

    def __len__(self) -> int:
        return self.num_samples


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
