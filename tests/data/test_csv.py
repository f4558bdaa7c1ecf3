"""CSVSource: the user's own label files (CSV, TSV, JSONL), and their errors naming the row."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paint_lightning.data import CSVSource, PaintDataModule, Task


def _image(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4), value, np.uint8), mode="L").save(path)


def _write(path: Path, rows: list[tuple[str, object]], header: str = "path,label") -> Path:
    path.write_text("\n".join([header, *(f"{p},{label}" for p, label in rows)]) + "\n")
    return path


@pytest.fixture
def parts(tmp_path: Path) -> Path:
    for i, name in enumerate(["gear_0", "gear_1", "bolt_0", "bolt_1", "nut_0", "gear_2", "nut_1", "bolt_2"]):
        _image(tmp_path / "img" / f"{name}.png", 30 * i)
    _write(
        tmp_path / "train.csv",
        [
            ("img/gear_0.png", "gear"),
            ("img/bolt_0.png", "bolt"),
            ("img/nut_0.png", "nut"),
            ("img/gear_1.png", "gear"),
            ("img/bolt_1.png", "bolt"),
        ],
    )
    _write(tmp_path / "test.csv", [("img/gear_2.png", "gear"), ("img/nut_1.png", "nut")])
    _write(tmp_path / "val.csv", [("img/bolt_2.png", "bolt")])
    return tmp_path


def test_names_from_the_file_paths_relative_to_it(parts: Path) -> None:
    source = CSVSource(str(parts / "train.csv"), str(parts / "test.csv"))
    assert source.classnames == ["bolt", "gear", "nut"]  # sorted label names of the train file
    assert source.labels("train") == [1, 0, 2, 1, 0] and source.labels("test") == [1, 2]
    image, label = source.dataset("test")[1]
    assert image.mode == "RGB" and image.size == (4, 4) and label == 2
    assert image.getpixel((0, 0)) == (180, 180, 180)  # img/nut_1.png, read from the CSV's folder
    assert source.splits == ("train", "test")


def test_index_labels_with_classnames_and_templates_from_text_files(parts: Path) -> None:
    (parts / "classes.txt").write_text("bolt\ngear\nnut\n")
    (parts / "templates.txt").write_text("a photo of a {}, a machine part.\na {}.\n")
    _write(parts / "idx.csv", [("img/gear_0.png", 1), ("img/nut_0.png", 2)])
    source = CSVSource(
        str(parts / "idx.csv"),
        str(parts / "test.csv"),
        classnames=str(parts / "classes.txt"),
        templates=str(parts / "templates.txt"),
    )
    assert source.labels("train") == [1, 2]
    assert source.templates == ["a photo of a {}, a machine part.", "a {}."]
    assert source.labels("test") == [1, 2]  # names in another file of the same task


def test_auto_labels_prefer_names_when_every_label_is_a_name(parts: Path) -> None:
    _write(parts / "digits.csv", [("img/gear_0.png", 3), ("img/gear_1.png", 4)])
    _write(parts / "digits_test.csv", [("img/nut_0.png", 3)])
    named = CSVSource(str(parts / "digits.csv"), str(parts / "digits_test.csv"), classnames=["3", "4"])
    assert named.labels("train") == [0, 1]
    indexed = CSVSource(str(parts / "digits.csv"), str(parts / "digits_test.csv"), classnames=list("abcde"))
    assert indexed.labels("train") == [3, 4]


def test_jsonl_with_custom_keys(parts: Path) -> None:
    rows = [{"file": "img/gear_0.png", "y": "gear"}, {"file": "img/bolt_0.png", "y": 0}]
    (parts / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    _write(parts / "test2.csv", [("img/nut_0.png", "nut")], header="file,y")
    auto = CSVSource(
        str(parts / "train.jsonl"),
        str(parts / "test2.csv"),
        classnames=["bolt", "gear", "nut"],
        path_column="file",
        label_column="y",
    )
    assert auto.labels("train") == [1, 0] and auto.labels("test") == [2]
    names = CSVSource(
        str(parts / "train.jsonl"),
        str(parts / "test2.csv"),
        classnames=["bolt", "gear", "nut"],
        path_column="file",
        label_column="y",
        label_type="name",
    )
    with pytest.raises(ValueError, match=r"train.jsonl line 2: label '0' is not a class name"):
        names.labels("train")


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        (
            [("img/gear_0.png", "gear"), ("img/nut_0.png", "bolt_")],
            {"classnames": ["bolt", "gear", "nut"]},
            r"bad.csv line 3: label 'bolt_' is neither a class name",
        ),
        (
            [("img/gear_0.png", "gear"), ("img/nut_0.png", "bolt_")],
            {"classnames": ["bolt", "gear", "nut"], "label_type": "name"},
            r"bad.csv line 3: label 'bolt_' is not a class name; classes are \['bolt', 'gear', 'nut'\]",
        ),
        (
            [("img/gear_0.png", 1), ("img/nut_0.png", 7)],
            {"classnames": ["bolt", "gear", "nut"]},
            r"bad.csv line 3: label index 7 is outside 0..2",
        ),
        (
            [("img/gear_0.png", "gear"), ("img/missing.png", "gear"), ("img/gone.png", "nut")],
            {},
            r"bad.csv line 3: image 'img/missing.png' not found .*1 more rows with missing images, lines \[4\]",
        ),
        (
            [("img/gear_0.png", "gear"), ("img/bolt_0.png", "bolt"), ("img/gear_0.png", "gear")],
            {},
            r"bad.csv lines 2 and 4 both list 'img/gear_0.png': duplicate rows",
        ),
        ([("img/gear_0.png", "gear"), ("", "gear")], {}, r"bad.csv line 3: empty 'path' or 'label'"),
        ([("img/gear_0.png", 0)], {"label_type": "index"}, r"label_type='index' needs source.classnames"),
        ([("img/gear_0.png", 0), ("img/nut_0.png", 1)], {}, r"bad.csv: the labels are numbers but source.classnames"),
    ],
)
def test_bad_rows_are_errors_naming_the_row(parts: Path, rows, kwargs, message: str) -> None:
    source = CSVSource(str(_write(parts / "bad.csv", rows)), str(parts / "test.csv"), **kwargs)
    with pytest.raises(ValueError, match=message):
        source.labels("train")


def test_image_in_two_splits_is_an_error(parts: Path) -> None:
    _write(parts / "leaky_test.csv", [("img/gear_2.png", "gear"), ("./img/bolt_1.png", "bolt")])
    source = CSVSource(str(parts / "train.csv"), str(parts / "leaky_test.csv"))
    with pytest.raises(ValueError, match=r"bolt_1.png is listed in both .*train.csv \(train\) and .*leaky_test.csv"):
        source.dataset("train")


def test_every_split_of_a_leaky_source_gives_the_same_error(parts: Path) -> None:
    """Whichever split is read first, each split refuses, naming the pair in split order."""
    _write(parts / "leaky_test.csv", [("img/gear_2.png", "gear"), ("./img/bolt_1.png", "bolt")])
    messages = []
    for order in (("test", "train"), ("train", "test")):
        source = CSVSource(str(parts / "train.csv"), str(parts / "leaky_test.csv"))
        for split in order:
            with pytest.raises(ValueError) as info:
                source.labels(split)
            messages.append(str(info.value))
    assert len(set(messages)) == 1 and "train.csv (train) and " in messages[0]


def test_header_only_file_says_it_has_no_rows(parts: Path) -> None:
    source = CSVSource(str(_write(parts / "empty.csv", [])), str(parts / "test.csv"))
    with pytest.raises(ValueError, match=r"empty.csv: no rows \(only a header\); list the train images"):
        source.classnames  # noqa: B018 - the property reads the file
    with_names = CSVSource(
        str(parts / "train.csv"), str(_write(parts / "empty.csv", [])), classnames=["bolt", "gear", "nut"]
    )
    with pytest.raises(ValueError, match=r"empty.csv: no rows; list at least one image of the test split"):
        with_names.labels("test")


def test_missing_file_and_header_errors(parts: Path) -> None:
    with pytest.raises(ValueError, match=r"source.test='.*nope.csv': label file not found"):
        CSVSource(str(parts / "train.csv"), str(parts / "nope.csv"))
    _write(parts / "headless.csv", [("img/gear_0.png", "gear")], header="img/bolt_0.png,bolt")
    with pytest.raises(ValueError, match=r"no 'path' column in the header \['img/bolt_0.png', 'bolt'\]"):
        CSVSource(str(parts / "headless.csv"), str(parts / "test.csv")).labels("train")


def test_fingerprint_is_relative_and_follows_labels(parts: Path, tmp_path_factory) -> None:
    copy = tmp_path_factory.mktemp("copy") / "parts"
    shutil.copytree(parts, copy)
    a = CSVSource(str(parts / "train.csv"), str(parts / "test.csv"))
    b = CSVSource(str(copy / "train.csv"), str(copy / "test.csv"))
    assert a.fingerprint("train") == b.fingerprint("train") and a.fingerprint("test") != a.fingerprint("train")
    _write(copy / "test.csv", [("img/gear_2.png", "nut"), ("img/nut_1.png", "nut")])
    assert CSVSource(str(copy / "train.csv"), str(copy / "test.csv")).fingerprint("test") != a.fingerprint("test")


def test_official_val_file_feeds_heldout_from_val(parts: Path) -> None:
    source = CSVSource(str(parts / "train.csv"), str(parts / "test.csv"), val=str(parts / "val.csv"))
    assert source.splits == ("train", "val", "test")
    dm = PaintDataModule(patch=[Task("parts", source, heldout_from="val")], num_workers=0)
    train_idx, held_idx = dm._splits["parts"]
    assert train_idx == list(range(5)) and held_idx == [0]  # all of train; the one val image held out
    assert dm.task_specs()[0].classnames == ["bolt", "gear", "nut"]
