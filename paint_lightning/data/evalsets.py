"""Evaluation sets decoded once into memory, within a budget, for every sweep pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch.trainer.states import TrainerFn
from torch.utils.data import Dataset, Subset

from paint_lightning.data.cache import TensorDataset, byte_transform, item_nbytes, materialize
from paint_lightning.data.sources import ImageSource, Split


def replaces_validation(trainer: Any) -> bool:
    """Whether a sweep measures the held-out sets in this ``fit``, so ``val_dataloader`` returns ``[]``.

    True while fitting with a callback that declares ``measures_heldout_sets = True`` (the sweep,
    see :class:`paint_lightning.callbacks.validation.ReplacesValidation`); the Trainer's own
    settings stay as the user gave them.
    """
    return trainer.state.fn == TrainerFn.FITTING and any(
        getattr(callback, "measures_heldout_sets", False) for callback in trainer.callbacks
    )


class EvalSetCache:
    """Keeps preprocessed evaluation sets in memory (uint8 where the transform allows).

    Evaluation transforms are deterministic, so a set can be decoded once and reused by every
    sweep pass and every epoch. Sets are decoded in the order asked while they fit in the budget;
    the others are read from their source each time.

    Args:
        budget_mb: Memory budget (MiB) of all decoded sets together; 0 disables decoding.
        batch_size: Batch size used while decoding.
        num_workers: Worker processes used while decoding.
    """

    def __init__(self, budget_mb: int, batch_size: int, num_workers: int) -> None:
        self.budget_bytes = budget_mb * 2**20
        self.batch_size = batch_size
        self.num_workers = num_workers
        self._decoded: dict[int, TensorDataset] = {}  # id(dataset) -> its decoded copy
        self._recipes: dict[int, tuple[ImageSource, Split, list[int] | None]] = {}  # id(dataset) -> how to rebuild it

    def register(self, dataset: Dataset, source: ImageSource, split: Split, indices: list[int] | None) -> None:
        """Remembers how ``dataset`` was made (so it can be decoded as uint8 later)."""
        self._recipes[id(dataset)] = (source, split, indices)

    def cached(self, sets: dict[str, Dataset], eval_transform: Callable[[Any], Any] | None) -> dict[str, Dataset]:
        """``sets`` with each set replaced by its decoded copy where the budget allows."""
        budget = self.budget_bytes - sum(d.nbytes() for d in self._decoded.values())
        out: dict[str, Dataset] = {}
        for name, dataset in sets.items():
            decoded = self._decoded.get(id(dataset))
            if decoded is None and len(dataset) > 0:  # type: ignore[arg-type]
                source, finish = self._decodable(dataset, eval_transform)
                if item_nbytes(source) * len(source) <= budget:  # type: ignore[arg-type]
                    decoded = materialize(source, self.batch_size, self.num_workers, finish)
                    self._decoded[id(dataset)] = decoded
                    budget -= decoded.nbytes()
            out[name] = decoded if decoded is not None else dataset
        return out

    def _decodable(self, dataset: Dataset, eval_transform: Callable[[Any], Any] | None) -> tuple[Dataset, Any]:
        """The dataset to decode into memory (uint8 when the eval transform allows) and its finish."""
        split = byte_transform(eval_transform)
        recipe = self._recipes.get(id(dataset))
        if split is None or recipe is None:
            return dataset, None
        source, name, indices = recipe
        raw = source.dataset(name, split[0])
        raw = Subset(raw, indices) if indices is not None else raw
        try:
            image, _ = raw[0]
        except TypeError:  # the source yields tensors, not PIL images
            return dataset, None
        if not isinstance(image, torch.Tensor) or image.dtype != torch.uint8:
            return dataset, None
        return raw, split[1]
