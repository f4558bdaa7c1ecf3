"""ImageFolderSource: the train split's classes label every split; fingerprints follow the files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paint_lightning.data import ImageFolderSource


def _images(root: Path, split: str, classes: dict[str, int]) -> None:
    for name, count in classes.items():
        folder = root / split / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.fromarray(np.full((4, 4, 3), 20 * i, np.uint8)).save(folder / f"{name}_{i}.png")


def _labels_by_class(dataset) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for path, label in dataset.samples:
        out.setdefault(Path(path).parent.name, set()).add(label)
    return out


def test_test_split_missing_a_class_folder_is_an_error_not_a_label_shift(tmp_path: Path) -> None:
    _images(tmp_path, "train", {"ant": 2, "bee": 2, "cat": 2})
    _images(tmp_path, "test", {"ant": 1, "cat": 1})  # no 'bee': 'cat' would become label 1
    source = ImageFolderSource(str(tmp_path))
    with pytest.raises(ValueError, match=r"test.*lacks class folder.*'bee'.*allow_missing_classes"):
        source.dataset("test")


def test_missing_class_folder_with_opt_in_keeps_the_train_labels(tmp_path: Path, caplog) -> None:
    _images(tmp_path, "train", {"ant": 2, "bee": 2, "cat": 2})
    _images(tmp_path, "test", {"ant": 1, "cat": 1})
    test = ImageFolderSource(str(tmp_path), allow_missing_classes=True).dataset("test")
    assert _labels_by_class(test) == {"ant": {0}, "cat": {2}}
    assert [label for _, label in (test[i] for i in range(len(test)))] == [0, 2]
    assert "bee" in caplog.text


def test_extra_class_folder_in_another_split_is_an_error(tmp_path: Path) -> None:
    _images(tmp_path, "train", {"ant": 1, "bee": 1})
    _images(tmp_path, "test", {"ant": 1, "bee": 1, "dog": 1})
    source = ImageFolderSource(str(tmp_path), allow_missing_classes=True)
    with pytest.raises(ValueError, match=r"'dog'.*not in the train split"):
        source.dataset("test")


def test_official_val_folder_is_a_split_with_the_train_labels(tmp_path: Path) -> None:
    _images(tmp_path, "train", {"ant": 2, "bee": 2})
    _images(tmp_path, "test", {"ant": 1, "bee": 1})
    _images(tmp_path, "val", {"ant": 1, "bee": 3})
    assert ImageFolderSource(str(tmp_path)).splits == ("train", "test")
    source = ImageFolderSource(str(tmp_path), val_dir="val")
    assert source.splits == ("train", "val", "test")
    assert source.labels("val") == [0, 1, 1, 1]
    with pytest.raises(ValueError, match=r"has no 'valid' folder for the val split"):
        ImageFolderSource(str(tmp_path), val_dir="valid").dataset("val")
    with pytest.raises(ValueError, match=r"no val split.*val_dir"):
        ImageFolderSource(str(tmp_path)).dataset("val")


def test_fingerprint_follows_files_and_labels_not_the_root(tmp_path: Path) -> None:
    for copy in ("a", "b"):
        _images(tmp_path / copy, "train", {"ant": 2, "bee": 2})
        _images(tmp_path / copy, "test", {"ant": 1, "bee": 2})
    a, b = ImageFolderSource(str(tmp_path / "a")), ImageFolderSource(str(tmp_path / "b"))
    assert a.fingerprint("train") == b.fingerprint("train")  # same relative files: same data
    assert a.fingerprint("train") != a.fingerprint("test")
    before = a.fingerprint("test")
    (tmp_path / "a" / "test" / "bee" / "bee_0.png").rename(tmp_path / "a" / "test" / "ant" / "moved.png")
    assert ImageFolderSource(str(tmp_path / "a")).fingerprint("test") != before  # relabelled image
