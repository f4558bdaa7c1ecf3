"""Tasks from label files: a CSV (or JSONL) of ``path,label`` rows per split, no Python needed.

.. code-block:: text

    path,label                 {"path": "img/0001.jpg", "label": "gear"}
    img/0001.jpg,gear          {"path": "img/0002.jpg", "label": 3}
    img/0002.jpg,3

Relative paths are resolved against the folder of the file that lists them. A label is a class
name or an index into the class list.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Literal

from torch.utils.data import Dataset

from paint_lightning.data.file_identity import resolved_files
from paint_lightning.data.labelled_files import LabelledFiles, files_fingerprint
from paint_lightning.data.sources import ImageSource, Split, Transform

LabelType = Literal["auto", "name", "index"]
_Row = tuple[int, str, Any]  # (line number, path as written, label as written)


class CSVSource(ImageSource):
    """Images listed in one label file per split: ``.csv`` / ``.tsv`` with a header, or ``.jsonl``.

    Class names come from ``classnames`` (a list, or a text file with one name per line), else
    from the labels of the train file (sorted unique names). Rows are checked when a split is
    first built: a label outside the class list, a missing image, an empty cell, a row listed
    twice and an image listed in two splits are errors naming the file and line.

    Args:
        train: Label file of the train split.
        test: Label file of the test split.
        val: Label file of an official validation split (optional; enables ``heldout_from: val``).
        classnames: Class names in label order, or the path of a text file with one per line.
        templates: Recommended prompt templates: a list, a preset name, or a text file with one
            template per line (the task's ``templates`` still wins).
        label_type: ``name`` (labels are class names), ``index`` (integers from 0), or ``auto``
            (a label that is a class name is that class, else an integer is an index).
        path_column: Column (CSV) or key (JSONL) holding the image path.
        label_column: Column or key holding the label.
    """

    def __init__(
        self,
        train: str,
        test: str,
        val: str | None = None,
        classnames: list[str] | str | None = None,
        templates: list[str] | str | None = None,
        label_type: LabelType = "auto",
        path_column: str = "path",
        label_column: str = "label",
    ) -> None:
        self.files: dict[str, Path] = {"train": _path(train), "test": _path(test)}
        if val is not None:
            self.files["val"] = _path(val)
        for split, file in self.files.items():
            if not file.is_file():
                raise ValueError(f"source.{split}={str(file)!r}: label file not found. {_FORMAT_HINT}")
        if label_type not in ("auto", "name", "index"):
            raise ValueError(f"source.label_type={label_type!r}: use 'auto', 'name' or 'index'.")
        self.label_type = label_type
        self.path_column = path_column
        self.label_column = label_column
        self._given_classnames = _read_list(classnames, "source.classnames")
        self.templates = _read_templates(templates)
        self._samples: dict[str, list[tuple[str, int]]] = {}
        self._disjoint = False  # every split read and checked against the others
        self._derived: list[str] | None = None
        self._fingerprints: dict[str, str] = {}  # split -> fingerprint, computed once
        self._read_rows: dict[str, list[_Row]] = {}

    @property
    def splits(self) -> tuple[Split, ...]:
        """``train`` and ``test``, plus ``val`` when a val file is given."""
        return ("train", "val", "test") if "val" in self.files else ("train", "test")

    @property
    def classnames(self) -> list[str]:
        """The given class names, else the sorted label names of the train file."""
        if self._given_classnames is not None:
            return list(self._given_classnames)
        if self.label_type == "index":
            raise ValueError(
                "source.label_type='index' needs source.classnames: give the class names in label order "
                "(a list, or a text file with one name per line)."
            )
        if self._derived is None:
            rows = self._rows("train")
            if not rows:
                raise ValueError(
                    f"{self.files['train']}: no rows (only a header); list the train images, one "
                    f"'{self.path_column},{self.label_column}' row per image (class names come from their labels)."
                )
            labels = {str(label).strip() for _, _, label in rows}
            if all(label.lstrip("-").isdigit() for label in labels):
                raise ValueError(
                    f"{self.files['train']}: the labels are numbers but source.classnames is not given; give the "
                    "class names in label order (a list, or a text file with one name per line)."
                )
            self._derived = sorted(labels)
        return list(self._derived)

    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """The split's images and labels (rows checked on first use)."""
        return LabelledFiles(self._checked(split), transform, self.files[split].parent)

    def labels(self, split: Split) -> list[int]:
        """Labels of ``split`` in row order."""
        return [label for _, label in self._checked(split)]

    def fingerprint(self, split: Split) -> str:
        """Hash of the class names and the sorted (path relative to the label file, label) rows (once per split)."""
        if split not in self._fingerprints:
            items = self.dataset(split).relative_items()  # type: ignore[attr-defined]
            self._fingerprints[split] = files_fingerprint(split, self.classnames, items)
        return self._fingerprints[split]

    def describe(self) -> dict[str, Any]:
        """Source and label files."""
        return {"source": type(self).__name__, **{split: str(file) for split, file in self.files.items()}}

    def layout(self) -> str:
        """The label files and what they hold."""
        lines = [f"{file}   ({split} split)" for split, file in self.files.items()]
        return "\n".join(lines) + f"\n{_FORMAT_HINT}"

    def obtain(self) -> str:
        """Your own images: nothing to download."""
        return "Your own images: write one label file per split (see docs/datasets.md, 'Your own data')."

    # -- internals -------------------------------------------------------------------------------

    def _checked(self, split: Split) -> list[tuple[str, int]]:
        """The split's rows, once every split's rows are read and found not to share images.

        Every split gives the same answer (the same error, naming the pair in split order).
        """
        if split not in self.files:
            raise ValueError(f"this CSV task has no {split} split; give source.{split} or use heldout_from: train.")
        if not self._disjoint:
            for name in self.files:
                if name not in self._samples:
                    self._samples[name] = self._resolve(name)
            names = [name for name in ("train", "val", "test") if name in self.files]
            for i, first in enumerate(names):
                for second in names[i + 1 :]:
                    self._no_overlap(first, second)
            self._disjoint = True
        return self._samples[split]

    def _resolve(self, split: str) -> list[tuple[str, int]]:
        file = self.files[split]
        names = self.classnames
        index = {name: i for i, name in enumerate(names)}
        rows = self._rows(split)
        samples: list[tuple[str, int]] = []
        seen: dict[str, int] = {}
        missing: list[int] = []
        parent = str(file.parent)
        resolved = resolved_files(os.path.join(parent, os.path.expanduser(written)) for _, written, _ in rows)
        for (line, written, label), (key, is_file) in zip(rows, resolved, strict=True):
            target = self._label(str(label).strip(), index, names, f"{file} line {line}")
            if key in seen:
                raise ValueError(
                    f"{file} lines {seen[key]} and {line} both list {written!r}: duplicate rows; remove one."
                )
            seen[key] = line
            if not is_file:
                missing.append(line)
            samples.append((key, target))
        if missing:
            first = missing[0]
            written = next(w for ln, w, _ in rows if ln == first)
            more = (
                f" ({len(missing) - 1} more rows with missing images, lines {missing[1:6]}...)"
                if len(missing) > 1
                else ""
            )
            raise ValueError(
                f"{file} line {first}: image {written!r} not found (resolved against {file.parent}){more}. "
                "Fix the path (relative paths are read from the label file's folder) or remove the row."
            )
        if not samples:
            raise ValueError(f"{file}: no rows; list at least one image of the {split} split.")
        return samples

    def _label(self, text: str, index: dict[str, int], names: list[str], where: str) -> int:
        """A class name is that class (unless ``label_type: index``); else an integer is an index."""
        if self.label_type != "index" and text in index:
            return index[text]
        if self.label_type == "name":
            raise ValueError(
                f"{where}: label {text!r} is not a class name; classes are {_preview(names)}. Fix the row or "
                "the class list (source.classnames)."
            )
        try:
            target = int(text)
        except ValueError:
            raise ValueError(
                f"{where}: label {text!r} is neither a class name ({_preview(names)}) nor a class index. Fix the "
                "row or the class list (source.classnames)."
            ) from None
        if not 0 <= target < len(names):
            raise ValueError(f"{where}: label index {target} is outside 0..{len(names) - 1} ({_preview(names)}).")
        return target

    def _no_overlap(self, split: str, other: str) -> None:
        rows = {path: i for i, (path, _) in enumerate(self._samples[split])}
        for path, _ in self._samples[other]:
            if path in rows:
                raise ValueError(
                    f"image {path} is listed in both {self.files[split]} ({split}) and {self.files[other]} "
                    f"({other}); the splits must not share images (alpha and test accuracy would be measured on "
                    "training images). Remove it from one of them."
                )

    def _rows(self, split: str) -> list[_Row]:
        """The split's rows, read once (the train file gives both the class names and the train rows)."""
        if split not in self._read_rows:
            self._read_rows[split] = self._read(split)
        return self._read_rows[split]

    def _read(self, split: str) -> list[_Row]:
        file = self.files[split]
        if file.suffix.lower() in (".jsonl", ".ndjson"):
            rows = []
            for line, text in enumerate(file.read_text().splitlines(), start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{file} line {line}: not JSON ({err}).") from err
                if not isinstance(record, dict):
                    raise ValueError(f"{file} line {line}: expected an object like {{'path': ..., 'label': ...}}.")
                rows.append((line, record.get(self.path_column), record.get(self.label_column)))
        else:
            delimiter = "\t" if file.suffix.lower() == ".tsv" else ","
            with open(file, newline="") as handle:
                reader = csv.DictReader(handle, delimiter=delimiter)
                columns = reader.fieldnames or []
                for column in (self.path_column, self.label_column):
                    if column not in columns:
                        raise ValueError(
                            f"{file}: no {column!r} column in the header {columns}; the first line must name the "
                            f"columns (e.g. '{self.path_column},{self.label_column}'), or set source.path_column / "
                            "source.label_column."
                        )
                rows = [(reader.line_num, r[self.path_column], r[self.label_column]) for r in reader]
        for line, written, label in rows:
            if written is None or not str(written).strip() or label is None or not str(label).strip():
                raise ValueError(f"{file} line {line}: empty {self.path_column!r} or {self.label_column!r}.")
        return [(line, str(written).strip(), label) for line, written, label in rows]


_FORMAT_HINT = (
    "Each label file is a CSV with a header 'path,label' (or a .tsv, or a .jsonl of "
    '{"path": ..., "label": ...}); paths are relative to the file\'s folder; a label is a class name or index.'
)


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _read_list(value: list[str] | str | None, field: str) -> list[str] | None:
    if value is None or isinstance(value, list):
        return value
    file = _path(value)
    if not file.is_file():
        raise ValueError(f"{field}={value!r}: file not found; give a list or a text file with one entry per line.")
    return [line.strip() for line in file.read_text().splitlines() if line.strip()]


def _read_templates(value: list[str] | str | None) -> list[str] | str | None:
    if isinstance(value, str) and ("/" in value or value.endswith(".txt")):
        return _read_list(value, "source.templates")
    return value  # a list, a preset name, or None; checked by the task


def _preview(names: list[str]) -> str:
    return repr(names) if len(names) <= 8 else repr(names[:8])[:-1] + f", ... ({len(names)} in all)]"
