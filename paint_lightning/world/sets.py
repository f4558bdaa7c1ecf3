"""Classification tasks of the offline world, as :class:`ImageSource` implementations.

Support tasks (:class:`WorldShapes`, :class:`WorldColours`, :class:`WorldCounts`) draw fresh
world scenes with a fixed seed per split; the patching task (:class:`HandwrittenDigits`) is
scikit-learn's bundled 8x8 handwritten digits, enlarged to the world's 32 px. Each task's
recommended prompt templates sit beside it (``SHAPE_TEMPLATES``...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
from PIL import Image
from torch.utils.data import Dataset
from typing_extensions import override

from paint_lightning.data.sources import ImageSource, Split, Transform
from paint_lightning.world.attributes import COLOURS, COUNT_WORDS, DIGIT_NUMERALS, DIGIT_WORDS, SHAPES, SIZES
from paint_lightning.world.scenes import IMAGE_SIZE, Scene, render_scene, sample_objects

SHAPE_TEMPLATES: list[str] = ["a photo of a {}.", "a {}.", "a drawing of a {}.", "an image of a {}."]
COLOUR_TEMPLATES: list[str] = [
    "something {}.",
    "a {} shape.",
    "a {} object.",
    "a photo of something {}.",
]
COUNT_TEMPLATES: list[str] = ["{} objects.", "{} shapes.", "a photo of {} objects."]
DIGIT_TEMPLATES: list[str] = [
    'a photo of the number: "{}".',
    "the number {}.",
    "the digit {}.",
    "a handwritten {}.",
]

_SPLIT_CODES = {"train": 0, "test": 1}


class RenderedImages(Dataset):
    """A map-style dataset whose item ``i`` is ``render(i)``, transformed on access."""

    def __init__(
        self, length: int, render: Callable[[int], tuple[Image.Image, int]], transform: Transform | None
    ) -> None:
        self.length = length
        self.render = render
        self.transform = transform

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[Any, int]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} images")
        image, label = self.render(index)
        return (self.transform(image) if self.transform else image), label


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"`{name}` must be a positive number of images, got {value}")


class _WorldTask(ImageSource):
    """A support task: scenes drawn with one attribute fixed to the label, balanced classes."""

    stream: int  # keeps the tasks' random streams apart

    def __init__(self, train_size: int = 3000, test_size: int = 1000, seed: int = 0) -> None:
        _check_sizes(train_size=train_size, test_size=test_size)
        self.train_size = train_size
        self.test_size = test_size
        self.seed = seed

    def scene(self, label: int, rng: np.random.Generator) -> Scene:
        """The scene of an image of class ``label``."""
        raise NotImplementedError

    def render(self, split: Split, index: int) -> tuple[Image.Image, int]:
        """Image ``index`` of ``split`` and its label; the same for the same seed."""
        rng = np.random.default_rng([self.seed, self.stream, _SPLIT_CODES[split], index])
        label = index % len(self.classnames)
        return render_scene(self.scene(label, rng), rng), label

    @override
    def labels(self, split: Split) -> list[int]:
        size = self.train_size if split == "train" else self.test_size
        return [index % len(self.classnames) for index in range(size)]  # as render() labels them

    @override
    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        if split not in _SPLIT_CODES:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        size = self.train_size if split == "train" else self.test_size
        # partial of a bound method, not a lambda: the data set must pickle into spawned workers
        return RenderedImages(size, partial(self.render, split), transform)

    @override
    def describe(self) -> dict[str, Any]:
        return {
            "source": type(self).__name__,
            "train_size": self.train_size,
            "test_size": self.test_size,
            "seed": self.seed,
            "classnames": self.classnames,
        }


class WorldShapes(_WorldTask):
    """Which shape is shown: one object of random colour, place and background.

    Args:
        train_size: Images in the train split.
        test_size: Images in the test split.
        seed: Seed of the images.
        size: ``"big"`` or ``"small"`` objects only, or ``None`` for both (half each).
    """

    stream = 1
    templates = SHAPE_TEMPLATES  # used when the task gives none

    def __init__(self, train_size: int = 3000, test_size: int = 1000, seed: int = 0, size: str | None = None) -> None:
        super().__init__(train_size, test_size, seed)
        if size not in (None, *SIZES):
            raise ValueError(f"size must be one of {list(SIZES)} or null (both), got {size!r}")
        self.size = size

    @property
    @override
    def classnames(self) -> list[str]:
        return list(SHAPES)

    @override
    def scene(self, label: int, rng: np.random.Generator) -> Scene:
        scene = sample_objects(rng, shape=SHAPES[label], count=1)
        if self.size is None or scene.size == self.size:
            return scene
        return replace(scene, size=self.size, position=scene.position if self.size == "small" else None)

    @override
    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "size": self.size}


class WorldColours(_WorldTask):
    """Which colour the objects have: one to four objects of a random shape."""

    stream = 2
    templates = COLOUR_TEMPLATES  # used when the task gives none

    @property
    @override
    def classnames(self) -> list[str]:
        return list(COLOURS)

    @override
    def scene(self, label: int, rng: np.random.Generator) -> Scene:
        return sample_objects(rng, colour=list(COLOURS)[label])


class WorldCounts(_WorldTask):
    """How many objects there are (one to four), of a random shape and colour."""

    stream = 3
    templates = COUNT_TEMPLATES  # used when the task gives none

    @property
    @override
    def classnames(self) -> list[str]:
        return list(COUNT_WORDS)

    @override
    def scene(self, label: int, rng: np.random.Generator) -> Scene:
        return sample_objects(rng, count=label + 1)


class HandwrittenDigits(ImageSource):
    """scikit-learn's bundled handwritten digits (1797 8x8 scans) as light-on-dark 32 px images.

    The split is a fixed seeded permutation: the first ``test_size`` images are the test split,
    the rest the train split, so the two never share an image.

    Args:
        test_size: Images in the test split (the train split gets the other ``1797 - test_size``).
        seed: Seed of the split permutation.
        glyph_size: Side of the enlarged digit in pixels; it is centred on a black 32 px canvas.
        classnames_style: ``"numeral"`` ("0".."9") or ``"word"`` ("zero".."nine").
    """

    templates = DIGIT_TEMPLATES  # used when the task gives none

    def __init__(
        self,
        test_size: int = 400,
        seed: int = 0,
        glyph_size: int = 24,
        classnames_style: str = "numeral",
    ) -> None:
        if classnames_style not in ("numeral", "word"):
            raise ValueError(f"classnames_style must be 'numeral' or 'word', got {classnames_style!r}")
        if not 8 <= glyph_size <= IMAGE_SIZE:
            raise ValueError(f"glyph_size must be between 8 and {IMAGE_SIZE}, got {glyph_size}")
        self.test_size = test_size
        self.seed = seed
        self.glyph_size = glyph_size
        self.classnames_style = classnames_style
        self._images: np.ndarray | None = None
        self._labels: np.ndarray | None = None

    @property
    @override
    def classnames(self) -> list[str]:
        return list(DIGIT_NUMERALS if self.classnames_style == "numeral" else DIGIT_WORDS)

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        if self._images is None:
            from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

            digits = load_digits()
            self._images, self._labels = digits.images, digits.target
            if not 0 < self.test_size < len(self._labels):
                raise ValueError(f"test_size must be between 1 and {len(self._labels) - 1}, got {self.test_size}")
        return self._images, self._labels

    def indices(self, split: Split) -> np.ndarray:
        """Indices into ``sklearn.datasets.load_digits()`` of one split."""
        _, labels = self._load()
        order = np.random.default_rng([self.seed, 4]).permutation(len(labels))
        if split == "test":
            return order[: self.test_size]
        if split == "train":
            return order[self.test_size :]
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")

    @override
    def image_ids(self, split: Split) -> list[str]:
        """``load_digits()[i]`` for the scans ``i`` of ``split`` (both splits draw from that one collection)."""
        return [f"load_digits()[{i}]" for i in self.indices(split)]

    def render(self, index: int) -> tuple[Image.Image, int]:
        """Digit ``index`` of ``load_digits()`` as a 32 px RGB image, and its label."""
        images, labels = self._load()
        scan = Image.fromarray((images[index] * (255 / 16)).astype(np.uint8), mode="L")
        glyph = scan.resize((self.glyph_size, self.glyph_size), Image.Resampling.BILINEAR)
        canvas = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE), 0)
        offset = (IMAGE_SIZE - self.glyph_size) // 2
        canvas.paste(glyph, (offset, offset))
        return canvas.convert("RGB"), int(labels[index])

    @override
    def labels(self, split: Split) -> list[int]:
        _, labels = self._load()
        return [int(labels[i]) for i in self.indices(split)]

    def _render_chosen(self, chosen: np.ndarray, position: int) -> tuple[Image.Image, int]:
        return self.render(int(chosen[position]))

    @override
    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        chosen = self.indices(split)
        return RenderedImages(len(chosen), partial(self._render_chosen, chosen), transform)

    @override
    def describe(self) -> dict[str, Any]:
        return {
            "source": type(self).__name__,
            "test_size": self.test_size,
            "seed": self.seed,
            "glyph_size": self.glyph_size,
            "classnames": self.classnames,
        }
