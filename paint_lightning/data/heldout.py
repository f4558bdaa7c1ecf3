"""Seeded, reproducible held-out splits (and the search/confirm parts of a held-out set)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from paint_lightning.data.cache import TensorDataset


def stable_seed(*parts: object) -> int:
    """A 63-bit seed derived from ``parts`` (stable across processes and Python versions)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def heldout_split(size: int, fraction: float, max_size: int | None, seed: int) -> tuple[list[int], list[int]]:
    """Splits ``range(size)`` into ``(train, heldout)`` index lists.

    The held-out part has ``round(fraction * size)`` items, at most ``max_size``, at least one
    when ``fraction > 0``; which items go where depends only on ``size`` and ``seed``. Both lists
    are sorted so reading stays sequential on disk.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"held-out fraction must be in [0, 1), got {fraction}")
    count = min(round(fraction * size), max_size if max_size is not None else size)
    if fraction > 0:
        count = max(count, 1)
    if count >= size:
        raise ValueError(f"a held-out split of {count} leaves nothing of {size} items to train on")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(size, generator=generator).tolist()
    return sorted(order[count:]), sorted(order[:count])


def heldout_source_split(task: Any) -> Any:
    """The split a task's held-out images come from: its ``heldout_from``, or ``test`` for a test-only source.

    A source without a train split (ImageNet's shifts) can only be a transfer task (see
    :func:`~paint_lightning.data.tasks.resolve_task`): its held-out images, evaluated at every alpha and
    choosing nothing, are a seeded sample of its test split.
    """
    return task.heldout_from if "train" in task.source.splits else "test"


def confirm_split(size: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Splits a held-out set's positions ``range(size)`` into ``(search, confirm)`` parts.

    The confirm part has ``round(fraction * size)`` positions, at least one and at most
    ``size - 1`` (both parts hold images); which positions go where depends only on ``size``,
    ``fraction`` and ``seed`` (give :func:`stable_seed` of ``data.split_seed``, the task name and
    ``"confirm"``), so every process, on any number of processes, computes the same parts. Both
    lists are sorted.

    Raises:
        ValueError: If ``fraction`` is not in ``(0, 1)`` or the set has fewer than two images.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"confirm fraction must be in (0, 1), got {fraction}")
    if size < 2:
        raise ValueError(f"a held-out set of {size} image(s) cannot be split into a search and a confirm part")
    count = min(max(round(fraction * size), 1), size - 1)
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).tolist()
    return sorted(order[count:]), sorted(order[:count])


def part_of(dataset: Dataset, positions: Sequence[int]) -> Dataset:
    """The items of ``dataset`` at ``positions``, in that order (a sliced copy for decoded sets)."""
    if isinstance(dataset, TensorDataset):
        index = torch.as_tensor(list(positions), dtype=torch.long)
        return TensorDataset(dataset.images[index], dataset.labels[index], dataset.finish)
    return Subset(dataset, list(positions))


def task_split(task: Any, field: str, fraction: float, max_size: int, split_seed: int) -> tuple[list[int], list[int]]:
    """``(train, heldout)`` indices of a task, once its splits are found usable.

    The held-out images are carved from its train split (``fraction``, seeded by ``split_seed``
    and the task name), or taken from its official validation split (``task.heldout_from ==
    "val"``); at most ``max_size`` of them. The test split must hold images too (the final report
    measures on it). ``paint data check`` runs this as well, so it fails where a run would.

    Raises:
        ValueError: Naming ``field`` (and the data set, for a registry task) when a split is empty
            or too small to divide.
    """
    where, fix = _where(task, field)
    kind = type(task.source).__name__
    if "train" not in task.source.splits:
        return _test_only_split(task, where, fix, kind, max_size, split_seed)
    size = len(task.source.dataset("train", None))
    if size == 0:
        raise ValueError(
            f"{where}: the train split of {kind} is empty (it is trained on and gives the held-out images); {fix}."
        )
    test_size = len(task.source.dataset("test", None))
    if test_size == 0:
        raise ValueError(
            f"{where}: the test split of {kind} is empty ({size} train images; the final report measures the test "
            f"split); {fix}."
        )
    seed = stable_seed(split_seed, task.name)
    if task.heldout_from == "val":
        val_size = len(task.source.dataset("val", None))
        if val_size == 0:
            raise ValueError(
                f"{where}: the val split of {kind} is empty, and heldout_from: val chooses alpha on it; {fix}, "
                f"or set {field}.heldout_from: train."
            )
        chosen = torch.randperm(val_size, generator=torch.Generator().manual_seed(seed))[:max_size]
        return list(range(size)), sorted(chosen.tolist())
    if size < 2:
        raise ValueError(
            f"{where}: {size} training image cannot give both a training and a "
            "held-out split; give the task more images."
        )
    return heldout_split(size, fraction, max_size, seed)


def _test_only_split(task: Any, where: str, fix: str, kind: str, max_size: int, split_seed: int) -> tuple[list, list]:
    """No train images, and held-out images that are a seeded sample (at most ``max_size``) of the test split."""
    test_size = len(task.source.dataset("test", None))
    if test_size == 0:
        raise ValueError(f"{where}: the test split of {kind} is empty (it is the only split of this data set); {fix}.")
    generator = torch.Generator().manual_seed(stable_seed(split_seed, task.name))
    return [], sorted(torch.randperm(test_size, generator=generator)[:max_size].tolist())


def _where(task: Any, field: str) -> tuple[str, str]:
    """The task as the user wrote it, for messages, and the fix for a split without images."""
    dataset = getattr(task, "dataset", None)
    if dataset is None:
        return f"{field} (task {task.name!r})", f"point {field}.source at data"
    folder = getattr(task.source, "data_dir", None)
    return (
        f"{field} (dataset: {dataset}, task {task.name!r})",
        f"the copy{f' in {folder}' if folder else ''} is incomplete or not in the layout docs/datasets.md gives "
        "(`paint data check --config ...` shows what is there)",
    )
