"""A run refuses a task whose held-out or train images are also test images (data/overlap.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paint_lightning.commands.cli import main
from paint_lightning.data import ImageFolderSource, PaintDataModule, Task
from paint_lightning.data.classsplit import ClassSubsetSource
from paint_lightning.data.file_identity import file_identities
from paint_lightning.data.overlap import find_overlaps, shared_images, split_pairs
from paint_lightning.data.sources import ImageSource
from paint_lightning.data.synthetic import ColourPatchSource
from paint_lightning.data.typographic import TypographicSource
from paint_lightning.world import GlyphDigits, HandwrittenDigits, WorldColours, WorldCounts, WorldPositions, WorldShapes
from tests.conftest import TINY_CONFIG
from tests.data.registry.fakes import DTD_CLASSES, fake_dtd

SHARED = DTD_CLASSES[:5]


def _dtd(root: Path, shares: str = "") -> Path:
    """Fake DTD; ``shares='val'`` (or ``'train'``) lists 5 test images in val1.txt (train1.txt) too."""
    fake_dtd(root)
    if shares:
        labels = root / "dtd" / "dtd" / "labels"
        lines = (labels / f"{shares}1.txt").read_text().splitlines()
        lines[:5] = [f"{c}/{c}_test.jpg" for c in SHARED]
        (labels / f"{shares}1.txt").write_text("\n".join(lines) + "\n")
    return root


def _folder(root: Path) -> Path:
    for name in ("cat", "dog"):
        (root / "train" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(root / "train" / name / f"{i}.png")
    return root


def test_shared_images_and_the_pairs_each_role_keeps_apart() -> None:
    assert shared_images(["a", "b", "c"], iter(["d", "c", "a"])) == ["a", "c"]
    assert shared_images(["a"], ["b"]) == []
    assert split_pairs("train", trained=True) == [("train", "test")]
    assert split_pairs("val", trained=True) == [("val", "test"), ("train", "test"), ("train", "val")]
    assert split_pairs("val", trained=False) == [("val", "test")]


def test_file_identities_see_through_symlinked_folders(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    ids = file_identities([tmp_path / "real" / "a.png", str(tmp_path / "link" / "a.png"), tmp_path / "real" / "b.png"])
    assert ids[0] == ids[1] == os.path.join(os.path.realpath(tmp_path / "real"), "a.png") != ids[2]


def test_dtd_whose_val_list_shares_test_images_is_refused_with_heldout_from_val(tmp_path: Path) -> None:
    root = str(_dtd(tmp_path, shares="val"))
    with pytest.raises(ValueError) as info:
        PaintDataModule(patch=[Task(dataset="dtd", root=root, heldout_from="val")], num_workers=0)
    message = str(info.value)
    assert message.startswith("data.patch[0] (task 'dtd'): the val split (the held-out images that choose alpha)")
    images = Path(root).resolve() / "dtd" / "dtd" / "images"
    assert f"and the test split (the final report) share 5 images under {images}: " in message
    shown = ", ".join(f"{c}/{c}_test.jpg" for c in SHARED[:3])  # DTD's list entries
    assert f"{shown} (3 of 5 shown)" in message
    assert "use heldout_from: train" in message
    # as a support task (not trained on) too: its held-out images choose alpha
    with pytest.raises(ValueError, match=r"data.support\[0\] \(task 'textures'\): the val split .* share 5 images"):
        PaintDataModule(
            patch=[Task(name="p", source=ColourPatchSource())],
            support=[Task(name="textures", dataset="dtd", root=root, heldout_from="val")],
            num_workers=0,
        )
    # carving the held-out images from train instead avoids the shared val images
    PaintDataModule(patch=[Task(dataset="dtd", root=root, heldout_from="train")], num_workers=0)


def test_dtd_whose_train_list_shares_test_images_is_refused(tmp_path: Path) -> None:
    root = str(_dtd(tmp_path, shares="train"))
    for heldout_from in ("train", "val"):
        with pytest.raises(ValueError) as info:
            PaintDataModule(patch=[Task(dataset="dtd", root=root, heldout_from=heldout_from)], num_workers=0)
        assert "(task 'dtd'): the train split (trained on" in str(info.value)
        assert "and the test split (the final report) share 5 images" in str(info.value)
        assert "measured on images the run also trained on" in str(info.value)


def test_clean_dtd_passes_and_train_val_overlap_of_a_patch_task_is_refused(tmp_path: Path) -> None:
    root = _dtd(tmp_path)
    for heldout_from in ("train", "val"):
        PaintDataModule(patch=[Task(dataset="dtd", root=str(root), heldout_from=heldout_from)], num_workers=0)
    labels = root / "dtd" / "dtd" / "labels"
    (labels / "val1.txt").write_text((labels / "train1.txt").read_text())
    with pytest.raises(ValueError, match=r"the train split \(trained on\) and the val split .* share 47 images"):
        PaintDataModule(patch=[Task(dataset="dtd", root=str(root), heldout_from="val")], num_workers=0)


@pytest.mark.parametrize("how", ["symlink", "same_dir"])
def test_a_folder_task_whose_test_folder_is_its_train_folder_is_refused(tmp_path: Path, how: str) -> None:
    root = _folder(tmp_path)
    if how == "symlink":
        (root / "test").symlink_to(root / "train", target_is_directory=True)
    source = ImageFolderSource(str(root), test_dir="test" if how == "symlink" else "train")
    with pytest.raises(ValueError, match=r"data.patch\[0\] \(task 'mine'\): the train split .* share 6 images under "):
        PaintDataModule(patch=[Task(name="mine", source=source)], num_workers=0)
    with pytest.raises(ValueError, match=r"data.transfer\[0\] \(task 'seen'\): the train split \(the held-out images"):
        PaintDataModule(
            patch=[Task(name="p", source=ColourPatchSource())],
            transfer=[Task(name="seen", source=source)],
            num_workers=0,
        )


def test_wrapped_sources_report_the_images_they_keep(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    (root / "test" / "cat").mkdir(parents=True)
    (root / "test" / "dog").symlink_to(root / "train" / "dog", target_is_directory=True)
    Image.fromarray(np.full((4, 4, 3), 9, np.uint8)).save(root / "test" / "cat" / "new.png")
    source = ImageFolderSource(str(root))
    assert [len(o.shared) for o in find_overlaps(source, "train", "patch")] == [3]
    assert find_overlaps(ClassSubsetSource(source, ["cat"]), "train", "patch") == []
    only_dogs = find_overlaps(ClassSubsetSource(source, ["dog"]), "train", "patch")
    assert [Path(path).parent.name for path in only_dogs[0].shared] == ["dog"] * 3
    assert len(find_overlaps(TypographicSource(source), "train", "patch")[0].shared) == 3


@pytest.mark.parametrize(
    "source",
    [
        WorldShapes(train_size=90, test_size=30),
        WorldColours(train_size=90, test_size=30),
        WorldCounts(train_size=90, test_size=30),
        WorldPositions(train_size=90, test_size=30),
        GlyphDigits(train_size=90, test_size=30),
        GlyphDigits(train_size=90, test_size=30, style="printed", background="dark"),
        HandwrittenDigits(),
        ColourPatchSource(),
    ],
    ids=lambda source: type(source).__name__,
)
def test_generated_sources_share_no_image_between_train_and_test(source: ImageSource) -> None:
    """Generated images are told apart by position (no files): no test image equals a train image byte for byte."""
    ids = [source.image_ids(split) for split in ("train", "test")]
    if ids[0] is not None:  # both splits draw from one collection: its indices are disjoint
        assert ids[1] is not None and len(set(ids[0])) == len(ids[0]) and shared_images(*ids) == []
    train, test = (source.dataset(split, None) for split in ("train", "test"))
    train_bytes = {train[i][0].tobytes() for i in range(len(train))}
    assert len(test) > 0 and not [i for i in range(len(test)) if test[i][0].tobytes() in train_bytes]


def test_paint_fit_and_data_check_refuse_the_same_overlap(tmp_path: Path, capsys) -> None:
    import yaml

    root = _dtd(tmp_path / "data", shares="val")
    config = tmp_path / "dtd.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "trainer": {"accelerator": "cpu", "max_epochs": 1, "default_root_dir": str(tmp_path / "runs")},
                "model": {"clip": {"config": TINY_CONFIG}, "head_cache_dir": None},
                "data": {"patch": [{"dataset": "dtd", "root": str(root), "heldout_from": "val"}], "num_workers": 0},
            }
        )
    )
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(config)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err and not (tmp_path / "runs").exists()
    error = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and error[0].startswith("error: data.patch[0] (task 'dtd'): the val split")
    assert "share 5 images" in error[0]
    reason = error[0].split("(task 'dtd'): ", 1)[1]
    with pytest.raises(SystemExit) as info:
        main(["data", "check", "--config", str(config)])
    out = capsys.readouterr().out
    assert info.value.code == 1 and "[MISSING] dtd (data.patch[0], patch)" in out
    assert f"problem: {reason}" in out


def test_data_check_reports_a_train_split_that_shares_test_images(tmp_path: Path, capsys) -> None:
    root = _dtd(tmp_path / "data", shares="train")
    config = tmp_path / "dtd.yaml"
    dtd = f"{{dataset: dtd, root: {root}"
    config.write_text(f"data:\n  support:\n    - {dtd}}}\n  patch:\n    - {dtd}, name: p}}\n")
    with pytest.raises(SystemExit) as info:
        main(["data", "check", "--config", str(config)])
    out = capsys.readouterr().out
    assert info.value.code == 1 and "[MISSING] p (data.patch[0], patch)" in out
    assert "problem: the train split (trained on; the held-out images that choose alpha are carved from it)" in out
    assert "problem: the train split (the held-out images that choose alpha are carved from it) and the test" in out
