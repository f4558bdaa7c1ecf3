"""Splits: KITTI's drive-wise split and distance labels (as TFDS/VTAB), seeded splits, CoOp and official files."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np
import pytest

from paint_lightning.data.registry import build_source
from paint_lightning.data.registry.kitti import closest_vehicle_label, drive_splits
from paint_lightning.data.registry.standard_splits import seeded_split
from tests.data.registry.fakes import fake_eurosat, fake_kitti_distance, fake_resisc45, fake_sun397, kitti_label_line


def _tfds_reference(train_rand: str, train_mapping: str) -> dict[str, list[int]]:
    """TFDS's kitti _build_splits, written as TFDS writes it (global NumPy state, seed 123)."""
    ids = [int(x.strip()) - 1 for x in train_rand.split(",")]
    lines = train_mapping.splitlines()
    video_to_image = collections.defaultdict(list)
    for image_id, line_id in enumerate(ids):
        video_to_image[lines[line_id].split(" ")[1]].append(image_id)
    state = np.random.get_state()
    np.random.seed(seed=123)
    n_test = max(1, 10 * len(video_to_image) // 100)
    n_val = max(1, 10 * len(video_to_image) // 100)
    test = set(np.random.choice(sorted(video_to_image), n_test, replace=False))
    val = set(np.random.choice(sorted(set(video_to_image) - test), n_val, replace=False))
    np.random.set_state(state)
    out = {"train": [], "val": [], "test": []}
    for video, images in video_to_image.items():
        out["test" if video in test else "val" if video in val else "train"].extend(images)
    return {k: sorted(v) for k, v in out.items()}


def test_kitti_drive_split_matches_tfds_and_keeps_drives_whole() -> None:
    rng = np.random.default_rng(7)
    drives = rng.integers(0, 57, 700)  # 700 images over up to 57 drives
    mapping = "\n".join(f"2011_09_26 drive_{d:04d}_sync {i:010d}" for i, d in enumerate(drives))
    rand = ",".join(str(i + 1) for i in rng.permutation(700))
    splits = drive_splits(rand, mapping)
    assert splits == _tfds_reference(rand, mapping)
    line_of = [int(x) - 1 for x in rand.split(",")]
    drive_of = {split: {drives[line_of[i]] for i in ids} for split, ids in splits.items()}
    assert not drive_of["train"] & drive_of["val"] and not drive_of["train"] & drive_of["test"]
    assert not drive_of["val"] & drive_of["test"] and len(drive_of["test"]) == len(drive_of["val"]) == 5
    assert sorted(i for ids in splits.values() for i in ids) == list(range(700))


@pytest.mark.parametrize(
    ("objects", "label"),
    [
        ([("Car", 7.99)], 0),
        ([("Car", 8.0), ("Pedestrian", 1.0)], 0),  # VTAB bins by threshold < distance: 8 m is still bin 0
        ([("Car", 8.01), ("Pedestrian", 1.0)], 1),
        ([("Truck", 19.9), ("Van", 45.0)], 1),
        ([("Van", 20.5)], 2),
        ([("Cyclist", 3.0), ("Tram", 5.0), ("DontCare", -1000.0)], 3),  # only Car, Van, Truck count
        ([], 3),
    ],
)
def test_kitti_closest_vehicle_distance_bins(objects: list, label: int) -> None:
    assert closest_vehicle_label("\n".join(kitti_label_line(k, z) for k, z in objects)) == label


def test_kitti_reads_extracted_mapping_files_too(tmp_path: Path) -> None:
    fake_kitti_distance(tmp_path, devkit_zip=False)
    source = build_source("kitti_distance", str(tmp_path))
    assert [len(source.labels(s)) for s in source.splits] == [12, 4, 4]


def test_seeded_split_is_stratified_disjoint_and_fixed() -> None:
    labels = [i % 3 for i in range(30)] + [3] * 7
    a = seeded_split(labels, seed=0)
    assert a == seeded_split(labels, seed=0) and a != seeded_split(labels, seed=1)
    assert sorted(i for ids in a.values() for i in ids) == list(range(37))
    per_class = {s: collections.Counter(labels[i] for i in idx) for s, idx in a.items()}
    assert per_class["train"] == {0: 6, 1: 6, 2: 6, 3: 4} and per_class["val"] == {0: 2, 1: 2, 2: 2, 3: 1}


def test_eurosat_takes_a_coop_split_file(tmp_path: Path) -> None:
    fake_eurosat(tmp_path)
    coop = {
        "train": [["Forest/Forest_1.jpg", 1, "Forest"], ["SeaLake/SeaLake_2.jpg", 9, "SeaLake"]],
        "val": [["River/River_1.jpg", 8, "River"]],
        "test": [["AnnualCrop/AnnualCrop_3.jpg", 0, "AnnualCrop"], ["Highway/Highway_5.jpg", 3, "Highway"]],
    }
    (tmp_path / "split_zhou_EuroSAT.json").write_text(json.dumps(coop))
    source = build_source("eurosat", str(tmp_path), options={"split_file": str(tmp_path / "split_zhou_EuroSAT.json")})
    assert source.labels("train") == [1, 9] and source.labels("val") == [8] and source.labels("test") == [0, 3]
    coop["test"].append(["Forest/Forest_99.jpg", 1, "Forest"])
    (tmp_path / "bad.json").write_text(json.dumps(coop))
    with pytest.raises(ValueError, match=r"1 images named in bad.json are not under .*first: Forest/Forest_99.jpg"):
        build_source("eurosat", str(tmp_path), options={"split_file": str(tmp_path / "bad.json")}).labels("test")


def test_sun397_seeded_split_when_no_partition(tmp_path: Path) -> None:
    fake_sun397(tmp_path)
    source = build_source("sun397", str(tmp_path), options={"partition": None})
    assert source.splits == ("train", "val", "test")
    sizes = [len(source.labels(s)) for s in source.splits]
    assert sizes == [9, 3, 3]  # 5 images of each of 3 classes, 60/20/20
    with pytest.raises(ValueError, match=r"partition file Training_02.txt not found"):
        build_source("sun397", str(tmp_path), options={"partition": 2}).labels("train")


def test_resisc45_split_files_or_seeded(tmp_path: Path) -> None:
    fake_resisc45(tmp_path)
    files = build_source("resisc45", str(tmp_path))
    assert [len(files.labels(s)) for s in files.splits] == [135, 45, 45]
    (tmp_path / "resisc45" / "resisc45-test.txt").unlink()
    with pytest.raises(ValueError, match=r"split file .*resisc45-test.txt not found \(or set split: seeded\)"):
        build_source("resisc45", str(tmp_path)).labels("test")
    seeded = build_source("resisc45", str(tmp_path), options={"split": "seeded"})
    assert [len(seeded.labels(s)) for s in seeded.splits] == [135, 45, 45]


def test_incomplete_copies_are_refused_not_mislabelled(tmp_path: Path) -> None:
    fake_resisc45(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "resisc45" / "NWPU-RESISC45" / "scene_07")  # labels after it would shift
    with pytest.raises(ValueError, match=r"found 44 classes in .*NWPU-RESISC45, expected 45"):
        build_source("resisc45", str(tmp_path)).labels("train")
