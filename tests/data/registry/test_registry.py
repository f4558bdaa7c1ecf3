"""The registry: class counts, the short form of a task, roots, options and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from paint_lightning.data import PaintDataModule, Task
from paint_lightning.data.registry import (
    APPLICATION_TASKS,
    PATCHING_TASKS,
    REGISTRY,
    SHIFT_TASKS,
    SUPPORT_TASKS,
    CLEVRCount,
    build_source,
    resolve_root,
)
from paint_lightning.data.registry.torchvision_files import _count_of
from paint_lightning.data.tasks import resolve_task
from tests.data.registry.fakes import trust_fake_checksums

CLASS_COUNTS = {
    "cars": 196, "dtd": 47, "eurosat": 10, "gtsrb": 43, "kitti_distance": 4, "mnist": 10, "resisc45": 45,
    "sun397": 397, "svhn": 10, "imagenet": 1000, "cifar10": 10, "cifar100": 100, "stl10": 10, "food101": 101,
    "fashion_mnist": 10, "clevr_count": 8, "imagenet_v2": 1000, "imagenet_r": 200, "imagenet_a": 200,
    "imagenet_sketch": 1000, "objectnet": 113,
}  # fmt: skip


def test_registry_holds_the_papers_data_sets() -> None:
    assert set(PATCHING_TASKS) | set(SUPPORT_TASKS) | set(APPLICATION_TASKS) | set(SHIFT_TASKS) == set(REGISTRY)
    assert len(PATCHING_TASKS) == 9 and len(SUPPORT_TASKS) == 5 and len(SHIFT_TASKS) == 5


@pytest.mark.parametrize(("key", "count"), CLASS_COUNTS.items())
def test_class_counts(key: str, count: int) -> None:
    source = build_source(key, "/data")
    assert len(source.classnames) == count and len(set(source.classnames)) >= count - 2  # ImageNet: 2 pairs alike
    assert source.templates and all(t.count("{}") == 1 for t in source.templates)


def test_clevr_counts_three_to_ten_objects_each_have_a_class() -> None:
    names = CLEVRCount(root="/data").classnames
    counts = {_count_of(name) for name in names}
    assert set(range(3, 11)) <= counts
    assert [_count_of(n) for n in ("3", "ten", "4 objects", "seven things", "many")] == [3, 10, 4, 7, None]


def test_short_form_builds_the_registry_source_and_names_the_task(tmp_path: Path) -> None:
    task = Task(dataset="sun397", root=str(tmp_path), options={"partition": 3}, heldout_from="train")
    assert task.name == "sun397" and task.source.partition == 3 and task.source.root == tmp_path
    spec = resolve_task(task, "patch", "data.patch[0]")
    assert len(spec.classnames) == 397 and spec.templates == task.source.templates
    named = Task(name="scenes", dataset="sun397", root=str(tmp_path), templates=["a photo of a {}."])
    assert resolve_task(named, "patch", "data.patch[0]").templates == ["a photo of a {}."]


def test_root_comes_from_the_task_then_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PAINT_DATA_ROOT", str(tmp_path / "env"))
    monkeypatch.setenv("SCRATCH", str(tmp_path / "scratch"))
    assert Task(dataset="mnist").source.root == tmp_path / "env"
    assert Task(dataset="mnist", root="$SCRATCH/data").source.root == tmp_path / "scratch" / "data"
    assert resolve_root("~/x") == Path.home() / "x"
    monkeypatch.delenv("PAINT_DATA_ROOT")
    with pytest.raises(ValueError, match=r"data.support\[1\].root is not set and neither is the PAINT_DATA_ROOT"):
        resolve_task(Task(dataset="mnist"), "support", "data.support[1]")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataset": "mnst"}, r"task 'mnst': dataset='mnst' is not a registry data set. Did you mean 'mnist'\?"),
        (
            {"dataset": "sun397", "options": {"partion": 2}},
            r"options \['partion'\] are not options of dataset 'sun397'",
        ),
        ({"dataset": "mnist", "options": {"seed": 1}}, r"its options: none"),
        ({"dataset": "sun397", "options": {"partition": 11}}, r"partition=11; SUN397 has partitions 1 to 10"),
        ({"dataset": "resisc45", "options": {"split": "random"}}, r"split='random'; use 'files'"),
        ({"name": "x"}, r"task 'x': no data. Give dataset: <registry key>"),
        ({"dataset": "mnist", "source": build_source("mnist", "/d")}, r"give either dataset='mnist' .* or source"),
        ({"name": "x", "source": build_source("mnist", "/d"), "root": "/d"}, r"root, download and options belong"),
    ],
)
def test_bad_short_forms_are_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Task(**kwargs)


def test_heldout_from_val_never_overlaps_test(fake_data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trust_fake_checksums(monkeypatch)
    tasks = [Task(dataset=key, root=str(fake_data_root), heldout_from="val") for key in ("dtd", "eurosat", "resisc45")]
    dm = PaintDataModule(patch=tasks, num_workers=0, heldout_max=10)
    for task in tasks:
        train_idx, held_idx = dm._splits[task.name]
        assert train_idx == list(range(len(task.source.labels("train"))))  # all of train: held-out comes from val
        val_files = {task.source.index("val").files[i] for i in held_idx}
        assert len(held_idx) == 10 and not val_files & set(task.source.index("test").files)
        assert not set(task.source.index("val").files) & set(task.source.index("train").files)
    with pytest.raises(ValueError, match=r"heldout_from='val' but MNIST has no official validation split"):
        PaintDataModule(patch=[Task(dataset="mnist", root=str(fake_data_root), heldout_from="val")], num_workers=0)


def test_registry_fingerprints_follow_files_not_roots(fake_data_root: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(fake_data_root / "eurosat", tmp_path / "eurosat")
    a, b = build_source("eurosat", str(fake_data_root)), build_source("eurosat", str(tmp_path))
    assert a.fingerprint("test") == b.fingerprint("test") != a.fingerprint("val")
    assert build_source("eurosat", str(tmp_path), options={"seed": 1}).fingerprint("test") != a.fingerprint("test")
    (tmp_path / "eurosat" / "2750" / "Forest" / "Forest_9.jpg").write_bytes(b"")
    assert build_source("eurosat", str(tmp_path)).fingerprint("train") != a.fingerprint("train")
