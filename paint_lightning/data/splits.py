"""Seeded, reproducible held-out splits."""

from __future__ import annotations

import hashlib

import torch


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
