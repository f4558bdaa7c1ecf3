"""Measuring mixes in this process, without a Trainer: the device, the data's sets, the counts.

:func:`prepare_data` and :func:`measure` run :class:`~paint_lightning.engine.sweeper.Sweeper`
over a :class:`~paint_lightning.PaintDataModule`'s held-out or test sets (on the GPU when there is
one), so :func:`~paint_lightning.engine.alpha_sweep.sweep_alphas` works without a Trainer
(``paint sweep``, ``paint parallel``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from paint_lightning.engine.counts import Counts
from paint_lightning.engine.sweeper import Sweeper
from paint_lightning.interpolation.mix import Mix


def resolve_device(device: str) -> torch.device:
    """``auto`` is the GPU when there is one, else the CPU; any other name is that device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def prepare_data(datamodule: Any, module: Any, stages: Sequence[str] = ("validate", "test")) -> None:
    """Gives the DataModule the model's transforms and builds its held-out and test sets.

    Args:
        datamodule: A :class:`~paint_lightning.PaintDataModule` (``set_transforms``, ``setup``).
        module: The model, with ``preprocess_train`` and ``preprocess_eval`` transforms.
        stages: The stages to set up.
    """
    datamodule.set_transforms(module.preprocess_train, module.preprocess_eval)
    for stage in stages:
        datamodule.setup(stage)


def measure(
    module: Any,
    datamodule: Any,
    split: str,
    device: torch.device,
    chunk_bytes: int = 512 * 2**20,
    ends: Sequence[Mapping[str, Tensor]] | None = None,
    on_pass: Callable[[int], None] | None = None,
) -> Callable[[list[Mix]], Counts]:
    """``measure(mixes) -> Counts`` over the ``heldout`` or ``test`` sets, in this process.

    Args:
        module: The model (a :class:`~paint_lightning.engine.protocol.Patchable`), on ``device``.
        datamodule: A :class:`~paint_lightning.PaintDataModule` after :func:`prepare_data`.
        split: ``heldout`` or ``test``.
        device: Where the model is.
        chunk_bytes: Device memory for staging evaluation batches.
        ends: End points other than the live weights (parallel patching, merges).
        on_pass: Called with the number of mixes before each pass over the data.
    """
    sets = datamodule.cached_heldout_sets() if split == "heldout" else datamodule.cached_test_sets()
    loaders = {spec.name: datamodule.eval_dataloader(sets[spec.name]) for spec in module.task_specs}
    sweeper = Sweeper(module, device, chunk_bytes, ends=ends)

    def run(mixes: list[Mix]) -> Counts:
        if on_pass is not None:
            on_pass(len(mixes))
        return sweeper.count(loaders, mixes)

    return run
