"""What one split of a registry data set holds, and the items read from it.

A :class:`SplitIndex` is either image files with labels (read as
:class:`~paint_lightning.data.labelled_files.LabelledFiles`) or an array-backed torchvision data set
(MNIST, CIFAR...: :class:`ArrayItems`). Each data set's ``_index`` builds one
(:class:`~paint_lightning.data.registry.base.RegistrySource`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from paint_lightning.data.labelled_files import LabelledFiles
from paint_lightning.data.sources import Transform


@dataclass
class SplitIndex:
    """What one split holds: image files with labels, or an array-backed torchvision data set."""

    labels: list[int]
    files: list[str] | None = None  # absolute paths, one per label
    base: Path | None = None  # files are reported relative to it
    arrays: Any = None  # a torchvision data set yielding (PIL image, label) without transform
    extra: dict[str, Any] = field(default_factory=dict)  # what else the fingerprint should cover

    def dataset(self, transform: Transform | None = None) -> Dataset:
        """The split's items: ``(transform(RGB PIL image), label)``."""
        if self.files is not None:
            return LabelledFiles(list(zip(self.files, self.labels, strict=True)), transform, self.base)
        return ArrayItems(self.arrays, self.labels, transform)

    def items(self) -> list[tuple[Any, int]]:
        """What the fingerprint hashes: ``(relative file, label)`` pairs, or ``(position, label)`` for arrays."""
        if self.files is not None:
            return LabelledFiles(list(zip(self.files, self.labels, strict=True)), None, self.base).relative_items()
        return list(enumerate(self.labels))


class ArrayItems(Dataset):
    """A torchvision data set whose images live in arrays (MNIST, CIFAR...), converted to RGB."""

    def __init__(self, arrays: Any, labels: list[int], transform: Transform | None) -> None:
        self.arrays = arrays
        self.labels = labels
        self.targets = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image, _ = self.arrays[index]
        image = image.convert("RGB")
        return (self.transform(image) if self.transform is not None else image), self.labels[index]


def sorted_files(pairs: Sequence[tuple[str | Path, int]]) -> tuple[list[str], list[int]]:
    """Sorts ``(path, label)`` pairs by path (a stable item order whatever the file system lists)."""
    ordered = sorted((str(path), int(label)) for path, label in pairs)
    return [path for path, _ in ordered], [label for _, label in ordered]
