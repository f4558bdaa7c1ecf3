"""Training data whose order and augmentations depend only on (seed, epoch, index).

That makes a run resumed from a mid-epoch checkpoint see exactly the batches, and the random
augmentations, that the uninterrupted run saw, whatever the number of workers:

* :class:`EpochSampler` shuffles with ``seed + epoch`` (torch's ``DistributedSampler``
  recipe, sharded across processes) and yields ``(epoch, index)`` so items know their epoch;
* :class:`SeededItems` seeds the random transforms of each item from ``(seed, epoch, index)``;
* :class:`ResumableDataLoader` implements Lightning's ``state_dict``/``load_state_dict`` loader
  protocol: a checkpoint records how many samples of the epoch were trained on, and a resumed
  loader skips them without reading them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sized
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from paint_lightning.data.heldout import stable_seed


class EpochSampler(DistributedSampler):
    """Seeded per-epoch shuffling, sharded across processes, resumable mid-epoch."""

    def __init__(self, dataset: Sized, num_replicas: int, rank: int, seed: int, drop_last: bool = False) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=drop_last)  # type: ignore[arg-type]
        self.skip = 0

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        indices = list(super().__iter__())
        start, self.skip = self.skip, 0  # skipping applies to the resumed epoch only
        return iter([(self.epoch, index) for index in indices[start:]])


class SeededItems(Dataset):
    """Applies ``dataset[index]`` under RNG seeded by ``(seed, epoch, index)``.

    The global RNG of the calling process is left untouched.
    """

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        item_seed = stable_seed(self.seed, epoch, index)
        # The CPU generator only (what transforms draw from); cheaper than fork_rng.
        generator = torch.default_generator
        torch_state, python_state = generator.get_state(), random.getstate()
        generator.manual_seed(item_seed)
        random.seed(item_seed)
        try:
            return self.dataset[index]
        finally:
            generator.set_state(torch_state)
            random.setstate(python_state)


class ResumableDataLoader(DataLoader):
    """A DataLoader over an :class:`EpochSampler` whose position can be saved and restored.

    ``progress`` reports how many batches of the current epoch training has consumed and whether
    the epoch's training is complete (the loader itself cannot know: the trainer prefetches and
    may stop early at ``limit_train_batches``). The state is ``{"epoch", "batches", "complete"}``;
    restoring it points the sampler at the first batch not yet trained on, which is the next
    epoch's first batch when the saved epoch was complete. Restoring is idempotent, so Lightning's
    loader-state mechanism and :class:`~paint_lightning.PaintDataModule`'s own can both apply it.
    """

    def __init__(self, *args: Any, progress: Callable[[], tuple[int, bool]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.sampler, EpochSampler):
            raise TypeError("ResumableDataLoader needs an EpochSampler")
        self.progress = progress

    def state_dict(self) -> dict[str, int]:
        """The epoch, how many of its batches were trained on, and whether it is complete."""
        done, complete = self.progress() if self.progress is not None else (0, False)
        return {"epoch": self.sampler.epoch, "batches": done, "complete": int(complete)}  # type: ignore[attr-defined]

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        """Makes the next iteration start at the first batch not yet trained on."""
        epoch, batches = state_dict["epoch"], state_dict["batches"]
        if state_dict.get("complete", batches >= len(self)):
            epoch, batches = epoch + 1, 0
        self.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
        self.sampler.skip = batches * (self.batch_size or 1)  # type: ignore[attr-defined]
