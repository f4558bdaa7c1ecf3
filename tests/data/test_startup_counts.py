"""From the DataModule's construction to the first training batch, each split is listed, checked and
fingerprinted once, and nothing is decoded that is not read (issue 20: start-up at ImageNet scale)."""

import os
from collections import Counter
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from torchvision import transforms as T

import paint_lightning.data.csv_source as csv_source
import paint_lightning.data.folder as folder
from paint_lightning import PaintDataModule, Task
from paint_lightning.data.csv_source import CSVSource
from paint_lightning.data.folder import ImageFolderSource

BATCH = 4
TRAIN, TEST = {"ant": 8, "bee": 6, "cat": 4}, {"ant": 3, "bee": 2, "cat": 2}


def _images(root: Path) -> Path:
    for split, sizes in (("train", TRAIN), ("test", TEST)):
        for name, count in sizes.items():
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                PIL.Image.fromarray(np.full((4, 4, 3), 30 * i, np.uint8)).save(root / split / name / f"{i}.png")
    return root


class Counts:
    """Image opens per file, listings per folder under ``root`` and fingerprints per split."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
        self.opens: Counter[str] = Counter()
        self.listings: Counter[str] = Counter()
        self.fingerprints: Counter[str] = Counter()
        prefix = str(root)
        opened, scandir, listdir = PIL.Image.open, os.scandir, os.listdir

        def open_image(path, *args, **kwargs):
            self.opens[str(path)] += 1
            return opened(path, *args, **kwargs)

        def listing(real):
            def counted(path="."):
                if os.fspath(path).startswith(prefix):
                    self.listings[os.fspath(path)] += 1
                return real(path)

            return counted

        monkeypatch.setattr(PIL.Image, "open", open_image)
        monkeypatch.setattr(os, "scandir", listing(scandir))
        monkeypatch.setattr(os, "listdir", listing(listdir))
        for module, name, split_of in (
            (folder, "fingerprint_json", lambda args: args[0]["split"]),
            (csv_source, "files_fingerprint", lambda args: args[0]),
        ):
            real = getattr(module, name)

            def fingerprint(*args, _real=real, _split_of=split_of):
                self.fingerprints[_split_of(args)] += 1
                return _real(*args)

            monkeypatch.setattr(module, name, fingerprint)


def _until_first_batch(task: Task, counts: Counts) -> tuple[Counter[str], Counter[str]]:
    """Opens before the first training batch, and during it; the run also records its provenance."""
    datamodule = PaintDataModule(patch=[task], batch_size=BATCH, num_workers=0, heldout_fraction=0.25)
    datamodule.set_transforms(T.ToTensor(), T.ToTensor())
    datamodule.setup("fit")
    datamodule.provenance()
    datamodule.state_dict()  # what a checkpoint records
    before = Counter(counts.opens)
    next(iter(datamodule.train_dataloader()))
    return before, counts.opens - before


@pytest.mark.parametrize("on_bad_image", ["error", "skip"])
def test_a_folder_is_walked_and_fingerprinted_once_and_decoded_only_when_read(monkeypatch, tmp_path, on_bad_image):
    root = _images(tmp_path / "images")
    counts = Counts(monkeypatch, root)
    before, first_batch = _until_first_batch(Task("f", ImageFolderSource(str(root), on_bad_image=on_bad_image)), counts)
    files = sum(TRAIN.values()) + sum(TEST.values())
    if on_bad_image == "skip":  # the split lengths must be exact: each image is checked once
        assert len(before) == files and set(before.values()) == {1}
    else:
        assert not before  # nothing decoded before training
    assert sum(first_batch.values()) == BATCH  # the first batch reads its own images
    class_folders = {str(root / s / c) for s, sizes in (("train", TRAIN), ("test", TEST)) for c in sizes}
    assert class_folders <= set(counts.listings) and max(counts.listings.values()) == 1
    assert counts.fingerprints == Counter({"train": 1, "test": 1})


def test_a_label_file_is_read_resolved_and_fingerprinted_once(monkeypatch, tmp_path):
    root = _images(tmp_path / "images")
    files = {}
    for split in ("train", "test"):
        rows = [f"{p.relative_to(root).as_posix()},{p.parent.name}" for p in sorted((root / split).rglob("*.png"))]
        files[split] = root / f"{split}.csv"
        files[split].write_text("path,label\n" + "\n".join(rows) + "\n")
    reads: Counter[str] = Counter()
    read = CSVSource._read

    def counted_read(self, split):
        reads[split] += 1
        return read(self, split)

    monkeypatch.setattr(CSVSource, "_read", counted_read)
    counts = Counts(monkeypatch, root)
    source = CSVSource(str(files["train"]), str(files["test"]))
    before, first_batch = _until_first_batch(Task("c", source), counts)
    assert not before and sum(first_batch.values()) == BATCH
    assert not counts.listings
    assert counts.fingerprints == Counter({"train": 1, "test": 1})
    assert reads == Counter({"train": 1, "test": 1})  # the train file gives the class names and the rows
