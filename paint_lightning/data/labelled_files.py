"""A map-style dataset over a list of ``(image file, label)`` pairs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from paint_lightning.data.sources import Transform, fingerprint_json


class LabelledFiles(Dataset):
    """Items ``(transform(RGB PIL image), label)`` read from ``samples``.

    Args:
        samples: ``(path, label)`` pairs in item order.
        transform: Applied to each RGB PIL image (``None``: the image itself).
        base: Folder that :meth:`relative_items` reports paths against (for fingerprints).
    """

    def __init__(
        self, samples: Sequence[tuple[str, int]], transform: Transform | None = None, base: Path | None = None
    ):
        self.samples = list(samples)
        self.targets = [label for _, label in self.samples]
        self.transform = transform
        self.base = base

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        except (OSError, UnidentifiedImageError, SyntaxError) as err:
            raise ValueError(f"cannot read image {path}: {err}. Remove or replace the file.") from err
        return (self.transform(rgb) if self.transform is not None else rgb), label

    def relative_items(self) -> list[tuple[str, int]]:
        """``(path relative to base, label)`` pairs, sorted (paths outside ``base`` stay absolute)."""
        return sorted(relative_items(self.samples, self.base))


def relative_items(samples: Sequence[tuple[str, int]], base: Path | None) -> list[tuple[str, int]]:
    """``(path relative to base, label)`` in ``samples`` order; paths outside ``base`` (or all, without one) as given.

    Paths are POSIX strings, as ``Path(path).relative_to(base).as_posix()`` gives them; paths that
    start with ``base`` as a string take a fast path (no ``Path`` object per file).
    """
    prefix = None if base is None else str(base).rstrip(os.sep) + os.sep
    items = []
    for path, label in samples:
        if prefix is not None and prefix != os.sep and path.startswith(prefix) and _plain(path, len(prefix)):
            rel = path[len(prefix) :]
            items.append((rel if os.sep == "/" else rel.replace(os.sep, "/"), label))
            continue
        full = Path(path)
        if base is not None and full.is_relative_to(base):
            full = full.relative_to(base)
        items.append((full.as_posix(), label))
    return items


def _plain(path: str, start: int) -> bool:
    """Whether ``path[start:]`` is already normal (what ``Path`` would leave unchanged)."""
    tail = path[start:]
    return bool(tail) and "//" not in tail and not tail.endswith("/") and "/./" not in f"/{tail}/"


def files_fingerprint(split: str, classnames: Sequence[str], items: Sequence[tuple[str, int]], **extra: Any) -> str:
    """Fingerprint of a split given as relative ``(path, label)`` items."""
    return fingerprint_json(
        {"split": split, "classnames": list(classnames), "items": sorted(map(list, items)), **extra}
    )
