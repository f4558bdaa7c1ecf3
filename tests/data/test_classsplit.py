"""The class-split protocol: train on some classes, evaluate on the others."""

import pytest

from paint_lightning.data import PaintDataModule, Task
from paint_lightning.data.classsplit import ClassSubsetSource
from paint_lightning.data.synthetic import ColourPatchSource


def _inner() -> ColourPatchSource:
    return ColourPatchSource(num_classes=4, num_train=60, num_test=40, seed=5, classnames=["a", "b", "c", "d"])


def test_keeps_the_images_of_the_classes_with_their_labels_and_every_class_name() -> None:
    inner = _inner()
    seen = ClassSubsetSource(inner, ["a", 1, "d"])
    assert seen.classnames == ["a", "b", "c", "d"] and seen.kept_classnames == ["a", "b", "d"]
    for split in ("train", "test"):
        full = inner.dataset(split)
        part = seen.dataset(split)
        labels = [part[i][1] for i in range(len(part))]
        assert set(labels) == {0, 1, 3}
        assert len(part) == sum(full[i][1] in (0, 1, 3) for i in range(len(full)))


def test_seen_and_unseen_tasks_share_no_image_and_fingerprints_differ() -> None:
    inner = _inner()
    seen, unseen = ClassSubsetSource(inner, ["a", "b"]), ClassSubsetSource(inner, ["c", "d"])
    assert not set(seen.indices("train")) & set(unseen.indices("train"))
    assert seen.fingerprint("train") != unseen.fingerprint("train")
    assert seen.fingerprint("train") == ClassSubsetSource(_inner(), ["b", "a"]).fingerprint("train")


def test_a_run_trains_on_seen_classes_and_watches_unseen_ones() -> None:
    inner = _inner()
    dm = PaintDataModule(
        patch=[Task("seen", ClassSubsetSource(inner, ["a", "b", "c"]))],
        transfer=[Task("unseen", ClassSubsetSource(inner, ["d"]))],
        num_workers=0,
        heldout_fraction=0.2,
    )
    assert [(s.name, s.role, len(s.classnames)) for s in dm.task_specs()] == [
        ("seen", "patch", 4),
        ("unseen", "transfer", 4),
    ]
    dm.setup("fit")
    assert {int(dm.train_set[i][1]) for i in range(len(dm.train_set))} <= {0, 1, 2}
    assert {int(dm.test_sets["unseen"][i][1]) for i in range(len(dm.test_sets["unseen"]))} == {3}


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ([], "classes is empty"),
        (["e"], "'e' is not a class of the source; its classes are \\['a', 'b', 'c', 'd'\\]"),
        ([7], "label 7 is out of range"),
        (["a", 0], "names a class twice"),
    ],
)
def test_bad_classes_are_refused(classes: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClassSubsetSource(_inner(), classes)
