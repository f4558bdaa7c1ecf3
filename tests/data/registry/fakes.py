"""Tiny fake copies of each registry data set, in that data set's real on-disk format.

``make_fake(key, root)`` writes a few images per split (and the metadata files the real download
has) under ``root``, as torchgeo's test data generators do. Real class counts are kept where the
loader checks them (a folder per class), with one image for most classes. ``EXPECTED[key]`` says
what the loader must then report.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.data.registry.shift_fakes import SHIFT_EXPECTED, SHIFT_FAKES

_BYTES: dict[str, bytes] = {}


def image_bytes(fmt: str = "JPEG", value: int = 90) -> bytes:
    """The encoded bytes of a 4x4 image (encoded once per format and value)."""
    key = f"{fmt}{value}"
    if key not in _BYTES:
        buffer = io.BytesIO()
        Image.fromarray(np.full((4, 4, 3), value, np.uint8)).save(buffer, fmt)
        _BYTES[key] = buffer.getvalue()
    return _BYTES[key]


def put(path: Path, fmt: str = "JPEG", value: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image_bytes(fmt, value))
    return path


def _idx(path: Path, images: np.ndarray, labels: np.ndarray, prefix: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    n, rows, cols = images.shape
    (path / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, rows, cols) + images.tobytes())
    (path / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.astype(np.uint8).tobytes())


def fake_mnist(root: Path, folder: str = "MNIST") -> None:
    rng = np.random.default_rng(0)
    raw = root / folder / "raw"
    _idx(raw, rng.integers(0, 255, (6, 28, 28), dtype=np.uint8), np.array([0, 1, 2, 3, 4, 9]), "train")
    _idx(raw, rng.integers(0, 255, (3, 28, 28), dtype=np.uint8), np.array([7, 8, 9]), "t10k")


def fake_fashion_mnist(root: Path) -> None:
    fake_mnist(root, "FashionMNIST")


def fake_svhn(root: Path) -> None:
    from scipy.io import savemat

    for split, labels in (("train", [10, 1, 2, 3]), ("test", [10, 5])):
        x = np.random.default_rng(0).integers(0, 255, (32, 32, 3, len(labels)), dtype=np.uint8)
        (root / "svhn").mkdir(parents=True, exist_ok=True)
        savemat(root / "svhn" / f"{split}_32x32.mat", {"X": x, "y": np.array(labels, np.uint8)[:, None]})


def _cifar(root: Path, folder: str, files: dict[str, list[int]], meta: str, label_key: str, names: dict) -> None:
    base = root / folder
    base.mkdir(parents=True, exist_ok=True)
    for name, labels in files.items():
        data = np.random.default_rng(0).integers(0, 255, (len(labels), 3072), dtype=np.uint8)
        with open(base / name, "wb") as handle:
            pickle.dump({"data": data, label_key: labels}, handle)
    with open(base / meta, "wb") as handle:
        pickle.dump(names, handle)


def fake_cifar10(root: Path) -> None:
    files = {f"data_batch_{i}": [i, 9 - i] for i in range(1, 6)} | {"test_batch": [0, 3, 9]}
    _cifar(root, "cifar-10-batches-py", files, "batches.meta", "labels", {"label_names": [f"c{i}" for i in range(10)]})


def fake_cifar100(root: Path) -> None:
    names = {"fine_label_names": [f"c{i}" for i in range(100)]}
    _cifar(root, "cifar-100-python", {"train": [0, 42, 99], "test": [5, 98]}, "meta", "fine_labels", names)


def fake_stl10(root: Path) -> None:
    base = root / "stl10_binary"
    base.mkdir(parents=True, exist_ok=True)
    for split, labels in (("train", [1, 2, 10]), ("test", [10, 3])):
        x = np.random.default_rng(0).integers(0, 255, (len(labels), 3, 96, 96), dtype=np.uint8)
        (base / f"{split}_X.bin").write_bytes(x.tobytes())
        (base / f"{split}_y.bin").write_bytes(np.array(labels, np.uint8).tobytes())
    (base / "unlabeled_X.bin").write_bytes(b"")


def fake_cars(root: Path) -> None:
    from scipy.io import savemat

    base = root / "stanford_cars"
    (base / "devkit").mkdir(parents=True, exist_ok=True)
    savemat(base / "devkit" / "cars_meta.mat", {"class_names": np.array([f"Car {i}" for i in range(196)], object)})
    dtype = [("class", "O"), ("fname", "O")]
    for split, classes, mat in (
        ("train", [1, 196, 5], base / "devkit" / "cars_train_annos.mat"),
        ("test", [2, 1], base / "cars_test_annos_withlabels.mat"),
    ):
        records = np.array([(c, f"{i + 1:05d}.jpg") for i, c in enumerate(classes)], dtype=dtype)
        savemat(mat, {"annotations": records})
        for i in range(len(classes)):
            put(base / f"cars_{split}" / f"{i + 1:05d}.jpg")


DTD_CLASSES = [f"texture{i:02d}" for i in range(47)]


def fake_dtd(root: Path) -> None:
    base = root / "dtd" / "dtd"
    for split in ("train", "val", "test"):
        lines = [f"{c}/{c}_{split}.jpg" for c in DTD_CLASSES]
        for line in lines:
            put(base / "images" / line)
        (base / "labels").mkdir(parents=True, exist_ok=True)
        (base / "labels" / f"{split}1.txt").write_text("\n".join(lines) + "\n")


EUROSAT_CLASSES = ["AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial", "Pasture",
                   "PermanentCrop", "Residential", "River", "SeaLake"]  # fmt: skip


def fake_eurosat(root: Path) -> None:
    for name in EUROSAT_CLASSES:
        for i in range(5):
            put(root / "eurosat" / "2750" / name / f"{name}_{i + 1}.jpg")


def fake_gtsrb(root: Path) -> None:
    base = root / "gtsrb"
    for class_id in range(43):
        put(base / "GTSRB" / "Training" / f"{class_id:05d}" / f"00000_0000{class_id % 3}.ppm", "PPM")
    rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
    for i, class_id in enumerate([42, 0, 7]):
        put(base / "GTSRB" / "Final_Test" / "Images" / f"{i:05d}.ppm", "PPM")
        rows.append(f"{i:05d}.ppm;4;4;0;0;3;3;{class_id}")
    (base / "GT-final_test.csv").write_text("\n".join(rows) + "\n")


def kitti_label_line(kind: str, z: float) -> str:
    return f"{kind} 0.00 0 -1.57 100.0 150.0 200.0 250.0 1.5 1.6 3.9 1.0 1.7 {z} 0.01"


# Five drives of four images each; image i's objects give it label i % 4 (VTAB's distance bins).
KITTI_OBJECTS = [
    [("Car", 5.0), ("Pedestrian", 2.0)],  # nearest vehicle 5 m -> 0
    [("Van", 12.0), ("Truck", 30.0)],  # 12 m -> 1
    [("Truck", 25.0), ("Cyclist", 3.0)],  # 25 m -> 2
    [("Pedestrian", 4.0), ("DontCare", -1000.0)],  # no vehicle -> 3
]


def fake_kitti_distance(root: Path, devkit_zip: bool = True) -> None:
    raw = root / "Kitti" / "raw"
    mapping_lines, order = [], []
    for image_id in range(20):
        put(raw / "training" / "image_2" / f"{image_id:06d}.png", "PNG")
        label = "\n".join(kitti_label_line(k, z) for k, z in KITTI_OBJECTS[image_id % 4]) + "\n"
        (raw / "training" / "label_2").mkdir(parents=True, exist_ok=True)
        (raw / "training" / "label_2" / f"{image_id:06d}.txt").write_text(label)
        mapping_lines.append(f"2011_09_26 2011_09_26_drive_{image_id // 4:04d}_sync {image_id:010d}")
    order = [str(20 - i) for i in range(20)]  # image i -> mapping line 20 - i (1-based), as the devkit shuffles
    rand, mapping = ",".join(order), "\n".join(mapping_lines) + "\n"
    if devkit_zip:
        with zipfile.ZipFile(raw / "devkit_object.zip", "w") as archive:
            archive.writestr("mapping/train_rand.txt", rand)
            archive.writestr("mapping/train_mapping.txt", mapping)
    else:
        (raw / "mapping").mkdir(parents=True, exist_ok=True)
        (raw / "mapping" / "train_rand.txt").write_text(rand)
        (raw / "mapping" / "train_mapping.txt").write_text(mapping)


RESISC_CLASSES = [f"scene_{i:02d}" for i in range(45)]


def fake_resisc45(root: Path) -> None:
    base = root / "resisc45"
    splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for name in RESISC_CLASSES:
        for i in range(5):
            file = f"{name}_{i + 1:03d}.jpg"
            put(base / "NWPU-RESISC45" / name / file)
            splits["train" if i < 3 else "val" if i == 3 else "test"].append(file)
    for split, files in splits.items():
        (base / f"resisc45-{split}.txt").write_text("\n".join(files) + "\n")


SUN_CLASSES = ["/a/abbey", "/a/apartment_building/outdoor"] + [f"/z/zone_{i:03d}" for i in range(395)]


def fake_sun397(root: Path) -> None:
    base = root / "SUN397"
    base.mkdir(parents=True, exist_ok=True)
    (base / "ClassName.txt").write_text("\n".join(SUN_CLASSES) + "\n")
    train, test = [], []
    for cls in SUN_CLASSES[:3]:
        for i in range(5):
            relative = f"{cls}/sun_{cls.strip('/').replace('/', '_')}{i}.jpg"
            put(base / relative.lstrip("/"))
            (train if i < 2 else test if i < 4 else []).append(relative)
    (base / "Training_01.txt").write_text("\n".join(train) + "\n")
    (base / "Testing_01.txt").write_text("\n".join(test) + "\n")


def fake_imagenet(root: Path) -> None:
    base = root / "imagenet"
    for i in range(1000):
        wnid = f"n{i:08d}"
        put(base / "train" / wnid / f"{wnid}_1.JPEG")
        put(base / "val" / wnid / f"ILSVRC2012_val_{i:08d}.JPEG")
    put(base / "train" / "n00000007" / "n00000007_2.JPEG")


def fake_food101(root: Path) -> None:
    base = root / "food-101"
    classes = [f"dish_{i:03d}" for i in range(101)]
    for split in ("train", "test"):
        meta = {c: [f"{c}/{split}{j}" for j in range(1 if c != "dish_100" else 2)] for c in classes}
        for items in meta.values():
            for item in items:
                put(base / "images" / f"{item}.jpg")
        (base / "meta").mkdir(parents=True, exist_ok=True)
        (base / "meta" / f"{split}.json").write_text(json.dumps(meta))


def fake_clevr_count(root: Path) -> None:
    base = root / "clevr" / "CLEVR_v1.0"
    for split, counts in (("train", [3, 10, 5, 4]), ("val", [6, 3])):
        scenes = []
        for i, count in enumerate(counts):
            name = f"CLEVR_{split}_{i:06d}.png"
            put(base / "images" / split / name, "PNG")
            scenes.append({"image_filename": name, "objects": [{"shape": "cube"}] * count})
        (base / "scenes").mkdir(parents=True, exist_ok=True)
        (base / "scenes" / f"CLEVR_{split}_scenes.json").write_text(json.dumps({"scenes": scenes}))
    put(base / "images" / "test" / "CLEVR_test_000000.png", "PNG")


def fake_mtsd(root: Path) -> None:
    for split, classes in (("train", ["stop", "yield", "keep-right_g1"]), ("val", ["stop", "yield", "keep-right_g1"])):
        for name in classes:
            put(root / "mtsd" / split / name / f"{split}_{name}.jpg")
    put(root / "mtsd" / "train" / "stop" / "extra.jpg")


FAKES: dict[str, Callable[[Path], None]] = {
    "cars": fake_cars,
    "dtd": fake_dtd,
    "eurosat": fake_eurosat,
    "gtsrb": fake_gtsrb,
    "kitti_distance": fake_kitti_distance,
    "mnist": fake_mnist,
    "resisc45": fake_resisc45,
    "sun397": fake_sun397,
    "svhn": fake_svhn,
    "imagenet": fake_imagenet,
    "cifar10": fake_cifar10,
    "cifar100": fake_cifar100,
    "stl10": fake_stl10,
    "food101": fake_food101,
    "fashion_mnist": fake_fashion_mnist,
    "clevr_count": fake_clevr_count,
    "mtsd": fake_mtsd,
    **SHIFT_FAKES,
}

# What each loader must report on its fake: split -> labels in item order (None: only the count).
EXPECTED: dict[str, dict[str, list[int] | int]] = {
    "cars": {"train": [0, 195, 4], "test": [1, 0]},
    "dtd": {"train": list(range(47)), "val": list(range(47)), "test": list(range(47))},
    "eurosat": {"train": 30, "val": 10, "test": 10},
    "gtsrb": {"train": list(range(43)), "test": [42, 0, 7]},
    "kitti_distance": {"train": 12, "val": 4, "test": 4},
    "mnist": {"train": [0, 1, 2, 3, 4, 9], "test": [7, 8, 9]},
    "resisc45": {"train": 135, "val": 45, "test": 45},
    "sun397": {"train": [0, 0, 1, 1, 2, 2], "test": [0, 0, 1, 1, 2, 2]},
    "svhn": {"train": [0, 1, 2, 3], "test": [0, 5]},
    "imagenet": {"train": 1001, "test": 1000},
    "cifar10": {"train": [1, 8, 2, 7, 3, 6, 4, 5, 5, 4], "test": [0, 3, 9]},
    "cifar100": {"train": [0, 42, 99], "test": [5, 98]},
    "stl10": {"train": [0, 1, 9], "test": [9, 2]},
    "food101": {"train": [*range(100), 100, 100], "test": [*range(100), 100, 100]},
    "fashion_mnist": {"train": [0, 1, 2, 3, 4, 9], "test": [7, 8, 9]},
    "clevr_count": {"train": [0, 7, 2, 1], "test": [3, 0]},  # counts 3, 10, 5, 4 / 6, 3
    "mtsd": {"train": [0, 1, 1, 2], "test": [0, 1, 2]},
    **SHIFT_EXPECTED,
}


def trust_fake_checksums(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake files cannot match the official MD5 sums that torchvision checks for these sets."""
    from torchvision.datasets import cifar, stl10, svhn

    for module in (cifar, stl10, svhn):
        monkeypatch.setattr(module, "check_integrity", lambda *args, **kwargs: True)
