"""What a run's data was: split settings and fingerprints of every split, and what changed.

Checkpoints store it; resuming, validating or testing with data that differs (another split
seed, changed files, another role) is refused, because the checkpoint's held-out indices,
zero-shot counts, heads and alpha* were computed from the data it recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from paint_lightning.data.sources import ImageSource, Split


class DataMismatchError(ValueError):
    """The data differs from what a checkpoint was made from."""


def indices_fingerprint(split_fingerprint: str, indices: Sequence[int]) -> str:
    """Fingerprint of a subset (the held-out part) of a split."""
    digest = hashlib.sha256(split_fingerprint.encode())
    digest.update(",".join(map(str, indices)).encode())
    return digest.hexdigest()[:16]


def task_provenance(
    source: ImageSource, role: str, heldout_from: Split, heldout_indices: Sequence[int], splits: Sequence[str]
) -> dict[str, Any]:
    """One task's record: role, where its held-out set comes from, and fingerprints of ``splits``."""
    record: dict[str, Any] = {"role": role, "heldout_from": heldout_from}
    for split in splits:
        if split == "heldout":
            record["heldout"] = indices_fingerprint(source.fingerprint(heldout_from), heldout_indices)
        else:
            record[split] = source.fingerprint(split)  # type: ignore[arg-type]
    return record


def describe_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between two provenance records (tasks present in both, and split settings)."""
    changes = []
    for key in ("split_seed", "heldout_fraction", "heldout_max"):
        if key in saved and saved[key] != current.get(key):
            changes.append(f"data.{key}: {saved[key]!r} in the checkpoint, {current.get(key)!r} now")
    now = current.get("tasks", {})
    for name, old in saved.get("tasks", {}).items():
        new = now.get(name)
        if new is None:
            continue
        for key in ("role", "heldout_from"):
            if old.get(key) != new.get(key):
                changes.append(f"task {name!r}: {key} {old.get(key)!r} in the checkpoint, {new.get(key)!r} now")
        for split in ("train", "heldout", "test"):
            if split in old and split in new and old[split] != new[split]:
                changes.append(f"task {name!r}: the {split} images or labels changed")
    return changes


def check_unchanged(saved: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """Raises :class:`DataMismatchError` naming every change, and what to do."""
    changes = describe_changes(saved, current)
    if changes:
        raise DataMismatchError(
            "The data differs from what the checkpoint was made from: "
            + "; ".join(changes)
            + ". The checkpoint's held-out split, zero-shot accuracies and alpha* were computed from its data. "
            "Restore that data and those settings, give a task that now reads other images a new name, or start "
            "a new run without --ckpt_path."
        )
