"""Stored class names and prompt templates: counts, format, label order (against torchvision), errors."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import pytest
import torchvision.datasets as tvd
from open_clip import zero_shot_metadata
from PIL import Image

from paint_lightning.data.registry import prompts
from paint_lightning.data.registry.prompts import Prompts, load

EXPECTED_COUNTS = {
    # patching tasks
    "cars": 196,
    "dtd": 47,
    "eurosat": 10,
    "gtsrb": 43,
    "kitti_distance": 4,
    "mnist": 10,
    "resisc45": 45,
    "sun397": 397,
    "svhn": 10,
    # support tasks
    "imagenet": 1000,
    "cifar10": 10,
    "cifar100": 100,
    "stl10": 10,
    "food101": 101,
    # application tasks
    "fashion_mnist": 10,
    "clevr_count": 8,  # counts 3..10, CLIP's protocol
    "mtsd": 0,  # templates only; names come from the user's folders
}

# EuroSAT's class folders (torchvision's EuroSAT is an ImageFolder over them) and CLIP's name for each.
EUROSAT_FOLDERS = {
    "AnnualCrop": "annual crop land",
    "Forest": "forest",
    "HerbaceousVegetation": "brushland or shrubland",
    "Highway": "highway or road",
    "Industrial": "industrial buildings or commercial buildings",
    "Pasture": "pasture land",
    "PermanentCrop": "permanent crop land",
    "Residential": "residential buildings or homes or apartments",
    "River": "river",
    "SeaLake": "lake or sea",
}


def shuffled(items: list[str]) -> list[str]:
    items = list(items)
    random.Random(0).shuffle(items)
    return items


# --- every data set -------------------------------------------------------------------------------


def test_names_lists_every_data_set() -> None:
    assert prompts.names() == sorted(EXPECTED_COUNTS)


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_load_counts_and_format(name: str) -> None:
    loaded = load(name)
    assert isinstance(loaded, Prompts)
    assert loaded.name == name
    assert isinstance(loaded.classnames, tuple) and isinstance(loaded.templates, tuple)
    assert len(loaded.classnames) == EXPECTED_COUNTS[name]
    assert loaded.source.strip()
    assert loaded.templates
    for template in loaded.templates:
        assert isinstance(template, str) and template.count("{}") == 1, template
        assert template.format("NAME") == template.replace("{}", "NAME")


@pytest.mark.parametrize("name", sorted(set(EXPECTED_COUNTS) - {"imagenet"}))
def test_classnames_unique_and_non_blank(name: str) -> None:
    classnames = load(name).classnames
    assert all(isinstance(c, str) and c.strip() == c and c for c in classnames)
    assert len(set(classnames)) == len(classnames)


def test_templates_unique() -> None:
    for name in EXPECTED_COUNTS:
        templates = load(name).templates
        assert len(set(templates)) == len(templates), name


def test_load_is_cached() -> None:
    assert load("cars") is load("cars")


def test_names_returns_a_fresh_list() -> None:
    listed = prompts.names()
    listed.clear()
    assert prompts.names() == sorted(EXPECTED_COUNTS)


@pytest.mark.parametrize(("typo", "suggestion"), [("CIFAR10", "cifar10"), ("fashionmnist", "fashion_mnist")])
def test_unknown_name_suggests_the_closest(typo: str, suggestion: str) -> None:
    with pytest.raises(ValueError, match=f"Did you mean '{suggestion}'") as error:
        load(typo)
    assert "sun397" in str(error.value) and "kitti_distance" in str(error.value)


def test_unknown_name_without_close_match() -> None:
    with pytest.raises(ValueError, match="Known data sets: cars, cifar10") as error:
        load("zzzz")
    assert "Did you mean" not in str(error.value)


# --- ImageNet comes from open_clip ------------------------------------------------------------------


def test_imagenet_is_open_clips_own_lists() -> None:
    imagenet = load("imagenet")
    assert imagenet.classnames is zero_shot_metadata.IMAGENET_CLASSNAMES
    assert imagenet.templates == tuple(t("{}") for t in zero_shot_metadata.OPENAI_IMAGENET_TEMPLATES)
    assert len(imagenet.templates) == 80
    assert imagenet.classnames[0] == "tench" and imagenet.classnames[-1] == "toilet paper"


def test_imagenet_duplicate_names_are_clips_known_pairs() -> None:
    # CLIP's curated ImageNet names (kept as open_clip has them) name two pairs of classes alike.
    positions = defaultdict(list)
    for index, classname in enumerate(load("imagenet").classnames):
        positions[classname].append(index)
    duplicates = {name: where for name, where in positions.items() if len(where) > 1}
    assert duplicates == {"missile": [657, 744], "sunglasses": [836, 837]}


def test_mtsd_has_templates_only() -> None:
    mtsd = load("mtsd")
    assert mtsd.classnames == ()
    assert mtsd.templates == load("gtsrb").templates


# --- label order: spot checks ---------------------------------------------------------------------


def test_label_order_spot_checks() -> None:
    assert load("cifar10").classnames[0] == "airplane" and load("cifar10").classnames[9] == "truck"
    assert load("cifar100").classnames[:3] == ("apple", "aquarium fish", "baby")
    assert load("stl10").classnames[2] == "car" and load("stl10").classnames[7] == "monkey"
    cars = load("cars").classnames
    assert cars[0] == "AM General Hummer SUV 2000"
    assert cars[5] == "Acura Integra Type R 2001"  # cars_meta.mat order, not alphabetical
    assert cars[-1] == "smart fortwo Convertible 2012"
    gtsrb = load("gtsrb").classnames
    assert gtsrb[0] == "red and white circle 20 kph speed limit"
    assert gtsrb[14] == "stop"
    assert gtsrb[42] == "white circle with gray strike bar indicating no passing for trucks has ended"
    assert load("dtd").classnames[0] == "banded" and load("dtd").classnames[-1] == "zigzagged"
    food = load("food101").classnames
    assert food[0] == "apple pie" and food[16:18] == ("cheese plate", "cheesecake")
    assert load("eurosat").classnames[0] == "annual crop land" and load("eurosat").classnames[-1] == "lake or sea"
    assert load("resisc45").classnames[0] == "airplane" and load("resisc45").classnames[-1] == "wetland"
    for name in ("mnist", "svhn"):
        assert load(name).classnames == tuple(str(digit) for digit in range(10))


def test_kitti_buckets_in_vtab_order() -> None:
    # task_adaptation data/kitti.py: thresholds [-100, 8, 20, 999] m on the closest vehicle; 1000 if none.
    assert load("kitti_distance").classnames == (
        "a photo i took of a car on my left or right side.",
        "a photo i took with a car nearby.",
        "a photo i took with a car in the distance.",
        "a photo i took with no car.",
    )
    assert load("kitti_distance").templates == ("{}",)


def test_sun397_follows_classname_txt_order() -> None:
    # ClassName.txt sorts paths, so "/j/jail/indoor" precedes "/j/jail_cell"; everything else is word order.
    names = list(load("sun397").classnames)
    assert names[0] == "abbey" and names[-1] == "youth hostel"
    assert names[206:208] == ["jail indoor", "jail cell"]
    names[206], names[207] = names[207], names[206]
    assert names == sorted(names)


# --- label order: agreement with torchvision --------------------------------------------------------


def test_mnist_and_fashion_mnist_match_torchvision_classes() -> None:
    assert load("mnist").classnames == tuple(c.split(" - ")[0] for c in tvd.MNIST.classes)
    assert load("fashion_mnist").classnames == tuple(tvd.FashionMNIST.classes)


def test_dtd_matches_torchvision(tmp_path: Path) -> None:
    classnames = load("dtd").classnames
    labels = tmp_path / "dtd" / "dtd" / "labels"
    labels.mkdir(parents=True)
    (tmp_path / "dtd" / "dtd" / "images").mkdir()
    (labels / "train1.txt").write_text("".join(f"{c}/{c}_0001.jpg\n" for c in shuffled(list(classnames))))
    assert tuple(tvd.DTD(tmp_path, split="train").classes) == classnames


def test_food101_matches_torchvision(tmp_path: Path) -> None:
    classnames = load("food101").classnames
    meta = tmp_path / "food-101" / "meta"
    meta.mkdir(parents=True)
    (tmp_path / "food-101" / "images").mkdir()
    folders = [c.replace(" ", "_") for c in shuffled(list(classnames))]
    (meta / "train.json").write_text(json.dumps({folder: [f"{folder}/1"] for folder in folders}))
    classes = tvd.Food101(tmp_path, split="train").classes
    assert tuple(c.replace("_", " ") for c in classes) == classnames


def _image_folders(root: Path, folders: list[str], suffix: str = ".jpg") -> None:
    for folder in folders:
        (root / folder).mkdir(parents=True)
        (root / folder / f"0{suffix}").touch()


def test_eurosat_matches_torchvision(tmp_path: Path) -> None:
    _image_folders(tmp_path / "eurosat" / "2750", shuffled(list(EUROSAT_FOLDERS)))
    classes = tvd.EuroSAT(tmp_path).classes
    assert tuple(EUROSAT_FOLDERS[c] for c in classes) == load("eurosat").classnames


def test_resisc45_matches_sorted_folder_order(tmp_path: Path) -> None:
    classnames = load("resisc45").classnames
    _image_folders(tmp_path / "NWPU-RESISC45", shuffled([c.replace(" ", "_") for c in classnames]))
    classes = tvd.ImageFolder(tmp_path / "NWPU-RESISC45").classes
    assert tuple(c.replace("_", " ") for c in classes) == classnames


def test_clevr_count_has_clips_eight_classes_for_counts_three_to_ten(tmp_path: Path) -> None:
    from paint_lightning.data.registry import CLEVRCount

    data = tmp_path / "clevr" / "CLEVR_v1.0"
    (data / "images" / "train").mkdir(parents=True)
    (data / "scenes").mkdir()
    scenes = []
    counts = (3, 10, 7, 4)
    for index, count in enumerate(counts):
        filename = f"CLEVR_train_{index:06d}.png"
        Image.new("RGB", (4, 4)).save(data / "images" / "train" / filename)
        scenes.append({"image_filename": filename, "objects": [{}] * count})
    (data / "scenes" / "CLEVR_train_scenes.json").write_text(json.dumps({"scenes": scenes}))
    assert [tvd.CLEVRClassification(tmp_path, split="train")[i][1] for i in range(4)] == list(counts)
    source = CLEVRCount(root=str(tmp_path))
    assert source.classnames == [str(count) for count in range(3, 11)]  # an 8-way head, as CLIP's protocol
    labels = source.labels("train")
    assert labels == [0, 7, 4, 1] and [source.classnames[label] for label in labels] == ["3", "10", "7", "4"]


# --- stored files that break the format are refused -------------------------------------------------


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Points the registry at an empty folder of YAML files in tmp_path."""
    monkeypatch.setattr(prompts, "_folder", lambda: tmp_path)
    prompts._names.cache_clear()
    load.cache_clear()
    yield tmp_path
    prompts._names.cache_clear()
    load.cache_clear()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("classnames: [a, b]\ntemplates: ['a {}.']\n", "'source' string"),
        ("source: x\nclassnames: [a, b]\ntemplates: ['a photo.']\n", "exactly once"),
        ("source: x\nclassnames: [a, b]\ntemplates: ['{} a {}.']\n", "exactly once"),
        ("source: x\nclassnames: [a, b]\ntemplates: ['a {} {0}.']\n", "no other braces"),
        ("source: x\nclassnames: [a, b]\ntemplates: []\n", "'templates' is empty"),
        ("source: x\nclassnames: [0, 1]\ntemplates: ['a {}.']\n", "non-string entries at positions \\[0, 1\\]"),
        ("source: x\nclassnames: [a, ' ']\ntemplates: ['a {}.']\n", "blank or non-string entries at positions \\[1\\]"),
        ("source: x\nclassnames: [a, a]\ntemplates: ['a {}.']\n", "repeats \\['a'\\]"),
        ("source: x\nclassnames: a\ntemplates: ['a {}.']\n", "must be a list of strings"),
        ("source: x\nopen_clip: {classnames: NOPE, templates: OPENAI_IMAGENET_TEMPLATES}\n", "has no 'NOPE'"),
    ],
)
def test_broken_files_are_refused(stored: Path, body: str, message: str) -> None:
    (stored / "broken.yaml").write_text(body)
    assert prompts.names() == ["broken"]
    with pytest.raises(ValueError, match=message) as error:
        load("broken")
    assert "broken.yaml" in str(error.value)


def test_a_well_formed_file_loads(stored: Path) -> None:
    (stored / "tiny.yaml").write_text("source: here\nclassnames: ['0', b]\ntemplates: ['a {}.', '{}']\n")
    assert load("tiny") == Prompts(name="tiny", classnames=("0", "b"), templates=("a {}.", "{}"), source="here")
