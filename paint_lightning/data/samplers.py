"""Samplers that keep distributed evaluation exact."""

from __future__ import annotations

from collections.abc import Iterator, Sized

from torch.utils.data import DistributedSampler


class UnpaddedDistributedSampler(DistributedSampler):
    """Shards ``range(len(dataset))`` as ``rank, rank + world, ...`` without padding.

    torch's ``DistributedSampler`` repeats samples so that every rank gets the same count, which
    makes summed accuracies count some examples twice. Here each example is seen exactly once
    across ranks; ranks may get one batch fewer, which evaluation tolerates. Subclassing
    ``DistributedSampler`` tells Lightning not to inject its own (padding) sampler.
    """

    def __init__(self, dataset: Sized, num_replicas: int = 1, rank: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False)  # type: ignore[arg-type]
        self.num_samples = len(range(rank, len(dataset), num_replicas))
        self.total_size = len(dataset)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.total_size, self.num_replicas))

    def __len__(self) -> int:
        return self.num_samples
