"""KITTI closest-vehicle distance (VTAB's ``kitti/closest_vehicle_distance``), from KITTI's object labels.

Labels follow google-research/task_adaptation ``data/kitti.py`` (``_closest_vehicle_distance_pp``):
the distance is the smallest forward coordinate ``z`` (metres, camera frame) of the Car, Van and
Truck objects of the image (1000 when there is none), binned by the thresholds
``[-100, 8, 20, 999]``: label 0 below 8 m, 1 from 8 to 20 m, 2 from 20 to 999 m, 3 no vehicle.

Splits follow TensorFlow Datasets' ``kitti`` builder (which VTAB reads), also reproduced by the
PAINT authors' code (mlfoundations/patching ``src/datasets/kitti.py``): KITTI's 7,481 labelled
training images are split by drive (video) so no drive spans two splits, using the devkit's
``mapping/train_rand.txt`` and ``mapping/train_mapping.txt``: 10% of the drives (at least one) are
the test split and 10% the val split, drawn with NumPy's legacy generator seeded 123; the rest is
train (6,347 / 423 / 711 images).
"""

from __future__ import annotations

import collections
import zipfile
from pathlib import Path

import numpy as np
from torchvision import datasets as tv
from torchvision.datasets.utils import download_url

from paint_lightning.data.registry.base import RegistrySource
from paint_lightning.data.registry.split_index import SplitIndex
from paint_lightning.data.sources import Split

VEHICLES = ("Car", "Van", "Truck")
THRESHOLDS = np.array([-100.0, 8.0, 20.0, 999.0])
_DEVKIT_URL = "https://s3.eu-central-1.amazonaws.com/avg-kitti/devkit_object.zip"


def closest_vehicle_label(label_text: str) -> int:
    """The distance class of one KITTI label file's objects (VTAB's closest_vehicle_distance)."""
    distances = [1000.0]
    for line in label_text.splitlines():
        fields = line.split()
        if fields and fields[0] in VEHICLES:
            distances.append(float(fields[13]))  # location z: type, trunc, occl, alpha, bbox(4), dims(3), x, y, z
    return int(np.flatnonzero(THRESHOLDS - min(distances) < 0).max())


def drive_splits(train_rand: str, train_mapping: str) -> dict[str, list[int]]:
    """Image ids (0-based) of the train, val and test splits, split by drive as TFDS does."""
    line_ids = [int(x.strip()) - 1 for x in train_rand.split(",") if x.strip()]
    mapping = train_mapping.splitlines()
    drive_images: dict[str, list[int]] = collections.defaultdict(list)
    for image_id, line_id in enumerate(line_ids):
        drive_images[mapping[line_id].split(" ")[1]].append(image_id)
    rng = np.random.RandomState(123)  # the legacy global generator TFDS seeds with np.random.seed(123)
    drives = sorted(drive_images)
    num_test = max(1, 10 * len(drives) // 100)
    num_val = max(1, 10 * len(drives) // 100)
    test = set(rng.choice(drives, num_test, replace=False).tolist())
    val = set(rng.choice(sorted(set(drives) - test), num_val, replace=False).tolist())
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for drive, images in drive_images.items():
        out["test" if drive in test else "val" if drive in val else "train"].extend(images)
    return {split: sorted(ids) for split, ids in out.items()}


class KittiDistance(RegistrySource):
    """KITTI closest-vehicle distance: 4 classes, train / val / test split by drive (6,347 / 423 / 711).

    torchvision's ``Kitti`` downloads the images and object labels; the split needs the object
    devkit (``devkit_object.zip``), which ``paint data download`` fetches too.
    """

    key = "kitti_distance"
    folder = "Kitti"
    official_splits = ("train", "val", "test")
    downloadable = True
    layout_text = """
raw/training/image_2/000000.png ... 007480.png
raw/training/label_2/000000.txt ... 007480.txt
raw/devkit_object.zip   (or its raw/mapping/train_rand.txt and raw/mapping/train_mapping.txt)
"""
    obtain_text = (
        "torchvision downloads the images and labels (https://s3.eu-central-1.amazonaws.com/avg-kitti/"
        "data_object_image_2.zip, data_object_label_2.zip); `paint data download` also fetches devkit_object.zip."
    )

    def _index(self, split: Split) -> SplitIndex:
        raw = self.data_dir / "raw"
        images, labels_dir = raw / "training" / "image_2", raw / "training" / "label_2"
        if not images.is_dir() or not labels_dir.is_dir():
            raise self.missing(f"{images} or {labels_dir} not found")
        ids = drive_splits(*self._mapping(raw))[split]
        files, labels = [], []
        for image_id in ids:
            image, label_file = images / f"{image_id:06d}.png", labels_dir / f"{image_id:06d}.txt"
            if not label_file.is_file():
                raise self.missing(f"{label_file} not found (every training image needs its label file)")
            files.append(str(image))
            labels.append(closest_vehicle_label(label_file.read_text()))
        return SplitIndex(labels, files, self.data_dir)

    def _mapping(self, raw: Path) -> tuple[str, str]:
        names = ("mapping/train_rand.txt", "mapping/train_mapping.txt")
        if all((raw / name).is_file() for name in names):
            return tuple((raw / name).read_text() for name in names)  # type: ignore[return-value]
        devkit = raw / "devkit_object.zip"
        if not devkit.is_file():
            raise self.missing(f"{devkit} not found (its mapping files define the drive-wise split)")
        with zipfile.ZipFile(devkit) as archive:
            try:
                return tuple(archive.read(name).decode() for name in names)  # type: ignore[return-value]
            except KeyError as err:
                raise self.missing(f"{devkit} has no {names[0]} / {names[1]}") from err

    def _fetch(self) -> None:
        tv.Kitti(str(self.root), train=True, download=True)
        raw = self.data_dir / "raw"
        if not (raw / "devkit_object.zip").is_file():
            download_url(_DEVKIT_URL, str(raw))
