"""The images ``paint predict`` classifies: files, folders, a CSV/JSONL list, or a task's split."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from glob import glob
from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


class ImageList(Dataset):
    """Image files in order, items ``(transform(image), index, label or -1)``; ``names`` says what each is.

    Args:
        paths: Image files.
        transform: The model's evaluation preprocessing.
        labels: Known class indices (or ``None`` per image), for accuracy.
    """

    def __init__(
        self, paths: Sequence[Path], transform: Callable[[Any], Any], labels: Sequence[int | None] = ()
    ) -> None:
        self.paths = list(paths)
        self.transform = transform
        self.labels = list(labels) or [None] * len(self.paths)
        self.names = [str(p) for p in self.paths]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Any, int, int]:
        path = self.paths[index]
        label = self.labels[index]
        try:
            with Image.open(path) as image:
                return self.transform(image.convert("RGB")), index, -1 if label is None else label
        except OSError as err:
            raise ValueError(f"cannot read image {path}: {err}. Remove it from the list or replace the file.") from err


class TaskImages(Dataset):
    """A task's split as ``(image, index, label)`` items, names ``<task>/<split>/<index>`` (or the file path).

    ``label_map[task_label]`` is the label among the predicted classes (-1: not among them).
    """

    def __init__(self, dataset: Any, task: str, split: str, label_map: Sequence[int]) -> None:
        self.dataset = dataset
        self.label_map = list(label_map)
        samples = getattr(dataset, "samples", None)
        paths = [str(s[0]) for s in samples] if isinstance(samples, list) and samples and len(samples[0]) == 2 else None
        self.names = paths or [f"{task}/{split}/{i}" for i in range(len(dataset))]

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, int, int]:
        image, label = self.dataset[index]
        return image, index, self.label_map[int(label)]


def image_files(inputs: Sequence[str]) -> list[Path]:
    """Files from paths, globs and folders (searched recursively for image files), in order."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in EXTENSIONS)
            if not found:
                raise FileNotFoundError(f"--images {item!r}: no image files ({', '.join(EXTENSIONS)}) in this folder.")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            matches = sorted(Path(p) for p in glob(str(path), recursive=True) if Path(p).is_file())
            if not matches:
                raise FileNotFoundError(f"--images {item!r}: no such file or folder, and no file matches it.")
            files += matches
    return files


def listed_images(
    path: str, classnames: Sequence[str], path_column: str = "path", label_column: str = "label"
) -> tuple[list[Path], list[int | None]]:
    """Paths (relative to the list's folder) and optional labels of a CSV/TSV (header) or JSONL list.

    A label is a class name or an index into ``classnames``; rows without a label have ``None``.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"--csv={path!r}: file not found.")
    if file.suffix == ".jsonl":
        rows = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        with open(file, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t" if file.suffix == ".tsv" else ","))
    paths: list[Path] = []
    labels: list[int | None] = []
    for line, row in enumerate(rows, start=2):
        if path_column not in row or not str(row[path_column]).strip():
            raise ValueError(
                f"--csv={path!r} line {line}: no {path_column!r} value (the header needs a {path_column!r} column)."
            )
        image = Path(str(row[path_column]).strip())
        image = image if image.is_absolute() else file.parent / image
        if not image.is_file():
            raise FileNotFoundError(f"--csv={path!r} line {line}: image {image} not found.")
        paths.append(image)
        labels.append(_label(row.get(label_column), classnames, f"--csv={path!r} line {line}"))
    return paths, labels


def _label(value: Any, classnames: Sequence[str], where: str) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if text in classnames:
        return list(classnames).index(text)
    if text.isdigit() and int(text) < len(classnames):
        return int(text)
    raise ValueError(f"{where}: label {text!r} is neither one of the class names nor an index below {len(classnames)}.")
