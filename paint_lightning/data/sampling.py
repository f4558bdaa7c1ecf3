"""How several patch tasks share the training batches (joint patching).

* ``proportional`` (the default): the patch tasks' training images are pooled and shuffled, so
  each task fills a share of every epoch proportional to its size;
* ``balanced``: each task fills an equal share of every epoch, whatever its size: a smaller task's
  images are repeated (each one once per pass over the task, in a fresh order each pass), a larger
  task's are subsampled (a different subset each epoch). The epoch keeps its length (the sum of
  the tasks' sizes), so the number of optimizer steps does not change.

Both orders depend only on ``(seed, epoch)``, are sharded across processes like torch's
``DistributedSampler`` and resume mid-epoch exactly (see :mod:`paint_lightning.data.resumable`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import torch
from torch.utils.data import Dataset

from paint_lightning.data.heldout import stable_seed
from paint_lightning.data.resumable import EpochSampler

Sampling = Literal["proportional", "balanced"]
SAMPLINGS: tuple[str, ...] = ("proportional", "balanced")


class WithTaskIndex(Dataset):
    """Appends the task's index to every ``(image, label)`` item."""

    def __init__(self, dataset: Dataset, task_index: int) -> None:
        self.dataset = dataset
        self.task_index = task_index

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Any, int, int]:
        image, label = self.dataset[index]
        return image, label, self.task_index


def balanced_order(sizes: Sequence[int], seed: int, epoch: int) -> list[int]:
    """One epoch of indices into the concatenation of tasks of ``sizes``, each task an equal share.

    The epoch has ``sum(sizes)`` indices; task ``i`` gets ``sum(sizes) // len(sizes)`` of them
    (the remainder goes one each to tasks chosen by the seed). A task's indices are taken from
    successive seeded permutations of its items, so no item repeats before every item of the task
    has been used. The whole epoch is then shuffled.

    Raises:
        ValueError: When a task has no items.
    """
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError(f"every patch task needs training images, got sizes {list(sizes)}")
    total, count = sum(sizes), len(sizes)
    generator = torch.Generator().manual_seed(stable_seed(seed, epoch, "balanced"))
    shares = [total // count] * count
    for i in torch.randperm(count, generator=generator)[: total % count].tolist():
        shares[i] += 1
    offsets = [sum(sizes[:i]) for i in range(count)]
    chosen: list[torch.Tensor] = []
    for size, share, offset in zip(sizes, shares, offsets, strict=True):
        passes = -(-share // size)
        order = torch.cat([torch.randperm(size, generator=generator) for _ in range(passes)])[:share]
        chosen.append(order + offset)
    epoch_order = torch.cat(chosen)
    return epoch_order[torch.randperm(total, generator=generator)].tolist()


class BalancedEpochSampler(EpochSampler):
    """:class:`EpochSampler` whose epochs give every patch task an equal share (:func:`balanced_order`)."""

    def __init__(self, sizes: Sequence[int], num_replicas: int, rank: int, seed: int) -> None:
        super().__init__(range(sum(sizes)), num_replicas=num_replicas, rank=rank, seed=seed)
        self.sizes = list(sizes)

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        indices = balanced_order(self.sizes, self.seed, self.epoch)
        padding = self.total_size - len(indices)  # as DistributedSampler pads (drop_last=False)
        if padding > 0:
            indices += (indices * -(-padding // len(indices)))[:padding]
        shard = indices[self.rank : self.total_size : self.num_replicas]
        start, self.skip = self.skip, 0  # skipping applies to the resumed epoch only
        return iter([(self.epoch, index) for index in shard[start:]])


def train_sampler(
    sampling: str, sizes: Sequence[int], dataset: Any, num_replicas: int, rank: int, seed: int
) -> EpochSampler:
    """The training sampler of ``sampling`` over the concatenated patch tasks ``dataset``.

    Raises:
        ValueError: For an unknown ``sampling``.
    """
    if sampling == "proportional" or len(sizes) == 1:
        return EpochSampler(dataset, num_replicas, rank, seed=seed)
    if sampling == "balanced":
        return BalancedEpochSampler(sizes, num_replicas, rank, seed=seed)
    raise ValueError(f"data.patch_sampling={sampling!r}: use one of {', '.join(SAMPLINGS)}.")
