"""World tasks: sizes, labels, class names, fixed splits."""

import numpy as np
import pytest
import torch

from paint_lightning.data.sources import ImageSource
from paint_lightning.world.attributes import COLOURS, SHAPES
from paint_lightning.world.sets import (
    COLOUR_TEMPLATES,
    COUNT_TEMPLATES,
    DIGIT_TEMPLATES,
    SHAPE_TEMPLATES,
    HandwrittenDigits,
    WorldColours,
    WorldCounts,
    WorldShapes,
)


@pytest.mark.parametrize(
    ("source_cls", "classnames"),
    [
        (WorldShapes, list(SHAPES)),
        (WorldColours, list(COLOURS)),
        (WorldCounts, ["one", "two", "three", "four"]),
    ],
)
def test_world_task_sizes_labels_and_classnames(source_cls, classnames):
    source = source_cls(train_size=24, test_size=12, seed=0)
    assert isinstance(source, ImageSource)
    assert source.classnames == classnames
    train, test = source.dataset("train"), source.dataset("test")
    assert (len(train), len(test)) == (24, 12)
    labels = [test[i][1] for i in range(len(test))]
    assert set(labels) <= set(range(len(classnames)))
    assert np.bincount(labels).max() - np.bincount(labels).min() <= 1  # balanced
    image, _ = train[0]
    assert image.size == (32, 32) and image.mode == "RGB"
    assert source.describe()["source"] == source_cls.__name__


def test_world_task_splits_are_fixed_and_differ():
    first = WorldShapes(train_size=8, test_size=8, seed=0)
    again = WorldShapes(train_size=8, test_size=8, seed=0)
    other_seed = WorldShapes(train_size=8, test_size=8, seed=1)

    def pixels(source, split):
        return np.stack([np.asarray(source.dataset(split)[i][0]) for i in range(8)])

    assert np.array_equal(pixels(first, "test"), pixels(again, "test"))
    assert not np.array_equal(pixels(first, "train"), pixels(first, "test"))
    assert not np.array_equal(pixels(first, "test"), pixels(other_seed, "test"))


def test_transform_is_applied():
    source = WorldColours(train_size=4, test_size=4)
    image, label = source.dataset("test", transform=lambda im: torch.ones(3, 32, 32))[1]
    assert torch.equal(image, torch.ones(3, 32, 32)) and label == 1


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="train_size"):
        WorldShapes(train_size=0)
    with pytest.raises(ValueError, match="split"):
        WorldShapes().dataset("validation")
    with pytest.raises(ValueError, match="classnames_style"):
        HandwrittenDigits(classnames_style="roman")
    with pytest.raises(IndexError):
        WorldShapes(test_size=3).dataset("test")[3]


def test_handwritten_digits_split_is_fixed_and_disjoint():
    digits = HandwrittenDigits(test_size=400, seed=0)
    train, test = digits.indices("train"), digits.indices("test")
    assert (len(train), len(test)) == (1397, 400)
    assert not set(train) & set(test)
    assert np.array_equal(test, HandwrittenDigits(test_size=400, seed=0).indices("test"))
    assert not np.array_equal(test, HandwrittenDigits(test_size=400, seed=1).indices("test"))
    dataset = digits.dataset("test")
    assert len(dataset) == 400
    image, label = dataset[0]
    assert image.size == (32, 32) and image.mode == "RGB" and 0 <= label <= 9
    assert {dataset[i][1] for i in range(100)} == set(range(10))


def test_handwritten_digits_classnames_and_style():
    assert HandwrittenDigits().classnames == [str(d) for d in range(10)]
    assert HandwrittenDigits(classnames_style="word").classnames[7] == "seven"
    image, _ = HandwrittenDigits().dataset("train")[0]
    pixels = np.asarray(image)
    assert pixels[:3].max() == 0 and pixels.max() > 200  # light digit on a dark, padded canvas


@pytest.mark.parametrize("templates", [SHAPE_TEMPLATES, COLOUR_TEMPLATES, COUNT_TEMPLATES, DIGIT_TEMPLATES])
def test_templates_have_one_slot(templates):
    assert templates and all(t.count("{}") == 1 for t in templates)


@pytest.mark.parametrize("source", [WorldShapes(train_size=4, test_size=4), HandwrittenDigits(test_size=10)])
def test_world_data_sets_pickle_for_spawned_workers(source):
    import pickle

    dataset = source.dataset("train")
    clone = pickle.loads(pickle.dumps(dataset))
    assert np.array_equal(np.asarray(clone[3][0]), np.asarray(dataset[3][0]))
    assert clone[3][1] == dataset[3][1]


def test_shapes_size_filter_keeps_labels_and_rejects_unknown_sizes():
    import numpy as np

    big = WorldShapes(train_size=12, test_size=6, size="big")
    scenes = [big.scene(label, np.random.default_rng(i)) for i, label in enumerate([0, 1, 2, 3, 4, 5] * 2)]
    assert {s.size for s in scenes} == {"big"} and all(s.position is None for s in scenes)
    assert [s.shape for s in scenes] == [big.classnames[i] for i in [0, 1, 2, 3, 4, 5] * 2]
    assert big.describe()["size"] == "big"
    with pytest.raises(ValueError, match="size must be one of"):
        WorldShapes(size="huge")
