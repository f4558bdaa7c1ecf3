"""Data sets of image files with official splits, indexed by torchvision.

Stanford Cars, DTD, GTSRB, Food101 and CLEVR counting. torchvision reads their metadata; the
items are the listed image files, sorted by path so the order does not depend on the file system.
"""

from __future__ import annotations

import re

from torchvision import datasets as tv

from paint_lightning.data.registry.base import RegistrySource
from paint_lightning.data.registry.split_index import SplitIndex, sorted_files
from paint_lightning.data.sources import Split


class StanfordCars(RegistrySource):
    """Stanford Cars: 8,144 train / 8,041 test, 196 classes (torchvision ``StanfordCars``).

    torchvision cannot download it any more (the original site is gone).
    """

    key = "cars"
    folder = "stanford_cars"
    layout_text = """
devkit/cars_meta.mat
devkit/cars_train_annos.mat
cars_train/00001.jpg ...
cars_test/00001.jpg ...
cars_test_annos_withlabels.mat
"""
    obtain_text = """Manual: the original site (ai.stanford.edu/~jkrause/cars) is gone; torchvision cannot download it.
The workaround collected in https://github.com/pytorch/vision/issues/7545: images from the Kaggle data set
'jessicali9530/stanford-cars-dataset' (flatten cars_train/cars_train and cars_test/cars_test), car_devkit.tgz
and cars_test_annos_withlabels.mat from the links in that thread, arranged as above."""

    def _index(self, split: Split) -> SplitIndex:
        cars = self.torchvision(lambda: tv.StanfordCars(str(self.root), split=split), f"the {split} split is missing")
        self.expect_classes(cars.classes, self.data_dir / "devkit" / "cars_meta.mat")
        files, labels = sorted_files(cars._samples)
        return SplitIndex(labels, files, self.data_dir)


class DTD(RegistrySource):
    """Describable Textures: 1,880 train / 1,880 val / 1,880 test (partition 1), 47 classes.

    Args:
        root: Data root (see :class:`~paint_lightning.data.registry.base.RegistrySource`).
        download: Download when missing.
        partition: Which of DTD's ten official train/val/test partitions (1-10).
    """

    key = "dtd"
    folder = "dtd"
    official_splits = ("train", "val", "test")
    downloadable = True
    layout_text = """
dtd/images/<texture>/<texture>_0001.jpg ...   (47 texture folders)
dtd/labels/train1.txt, val1.txt, test1.txt    (one partition per number 1-10)
"""
    obtain_text = "torchvision downloads it (https://www.robots.ox.ac.uk/~vgg/data/dtd/, dtd-r1.0.1.tar.gz)."

    def __init__(self, root: str | None = None, download: bool = False, partition: int = 1) -> None:
        super().__init__(root, download)
        if not 1 <= partition <= 10:
            raise ValueError(f"dtd: partition={partition}; DTD has partitions 1 to 10.")
        self.partition = partition

    def _index(self, split: Split) -> SplitIndex:
        dtd = self.torchvision(
            lambda: tv.DTD(str(self.root), split=split, partition=self.partition), f"the {split} split is missing"
        )
        self.expect_classes(dtd.classes, self.data_dir / "dtd" / "labels" / f"{split}{self.partition}.txt")
        files, labels = sorted_files(zip(dtd._image_files, dtd._labels, strict=True))
        return SplitIndex(labels, files, self.data_dir, extra={"partition": self.partition})

    def _fetch(self) -> None:
        tv.DTD(str(self.root), download=True)


class GTSRB(RegistrySource):
    """German Traffic Sign Recognition Benchmark: 26,640 train / 12,630 test, 43 classes (torchvision ``GTSRB``)."""

    key = "gtsrb"
    folder = "gtsrb"
    downloadable = True
    layout_text = """
GTSRB/Training/00000/*.ppm ... GTSRB/Training/00042/*.ppm   (one folder per class id)
GTSRB/Final_Test/Images/*.ppm
GT-final_test.csv                                           (Filename;...;ClassId)
"""
    obtain_text = "torchvision downloads it (https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/)."

    def _index(self, split: Split) -> SplitIndex:
        if split == "train":
            training = self.data_dir / "GTSRB" / "Training"
            folders = sorted(p.name for p in training.iterdir() if p.is_dir()) if training.is_dir() else []
            expected = [f"{i:05d}" for i in range(len(self.classnames))]
            if folders and folders != expected:
                lacking, extra = sorted(set(expected) - set(folders)), sorted(set(folders) - set(expected))
                wrong = [f"{_names(lacking)} missing"] if lacking else []
                wrong += [f"{_names(extra)} not class ids of GTSRB"] if extra else []
                raise self.missing(
                    f"{training} must hold one folder per class id, 00000 to {expected[-1]}: {'; '.join(wrong)}"
                )
            self.expect_classes(folders, training)
        gtsrb = self.torchvision(lambda: tv.GTSRB(str(self.root), split=split), f"the {split} split is missing")
        files, labels = sorted_files(gtsrb._samples)
        return SplitIndex(labels, files, self.data_dir)

    def _fetch(self) -> None:
        for split in self.splits:
            tv.GTSRB(str(self.root), split=split, download=True)


class Food101(RegistrySource):
    """Food-101: 75,750 train / 25,250 test, 101 classes (torchvision ``Food101``)."""

    key = "food101"
    folder = "food-101"
    downloadable = True
    layout_text = """
images/<dish>/<id>.jpg ...      (101 dish folders)
meta/train.json, meta/test.json  ({dish: ["<dish>/<id>", ...]})
"""
    obtain_text = "torchvision downloads it (http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz, 5 GB)."

    def _index(self, split: Split) -> SplitIndex:
        food = self.torchvision(lambda: tv.Food101(str(self.root), split=split), f"the {split} split is missing")
        self.expect_classes(food.classes, self.data_dir / "meta" / f"{split}.json")
        files, labels = sorted_files(zip(food._image_files, food._labels, strict=True))
        return SplitIndex(labels, files, self.data_dir)

    def _fetch(self) -> None:
        tv.Food101(str(self.root), download=True)


class CLEVRCount(RegistrySource):
    """CLEVR object counting (torchvision ``CLEVRClassification``): how many objects, 8 classes (3 to 10).

    CLEVR's test split has no labels, so its official val split (15,000) is the test split and the
    held-out images are carved from train (70,000). Each image's label is the class whose stored
    name is its object count (names are digits or number words): with the stored names "3".."10",
    label ``i`` is ``3 + i`` objects, CLIP's 8-way protocol (torchvision's own label is the count).
    """

    key = "clevr_count"
    folder = "clevr"
    downloadable = True
    layout_text = """
CLEVR_v1.0/images/train/CLEVR_train_000000.png ...
CLEVR_v1.0/images/val/CLEVR_val_000000.png ...
CLEVR_v1.0/scenes/CLEVR_train_scenes.json, CLEVR_val_scenes.json
"""
    obtain_text = "torchvision downloads it (https://dl.fbaipublicfiles.com/clevr/CLEVR_v1.0.zip, 18 GB)."

    def _index(self, split: Split) -> SplitIndex:
        official = "val" if split == "test" else "train"
        clevr = self.torchvision(
            lambda: tv.CLEVRClassification(str(self.root), split=official), f"the {official} split is missing"
        )
        by_count = {_count_of(name): i for i, name in enumerate(self.classnames)}
        labels = []
        for path, count in zip(clevr._image_files, clevr._labels, strict=True):
            if count not in by_count:
                raise self.missing(f"{path} shows {count} objects, which no class name stands for")
            labels.append(by_count[count])
        files, labels = sorted_files(zip(clevr._image_files, labels, strict=True))
        return SplitIndex(labels, files, self.data_dir, extra={"official_split": official})

    def _fetch(self) -> None:
        tv.CLEVRClassification(str(self.root), download=True)


def _names(items: list[str], most: int = 10) -> str:
    """``a, b, c`` (the first ``most`` of them, then how many more)."""
    more = f" and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(items[:most]) + more


_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]


def _count_of(name: str) -> int | None:
    """The number a class name stands for: ``"3"``, ``"three"``, ``"3 objects"``..."""
    match = re.search(r"\d+", name)
    if match:
        return int(match.group())
    words = [w for w in re.findall(r"[a-z]+", name.lower()) if w in _WORDS]
    return _WORDS.index(words[0]) if words else None
