"""A seeded synthetic source for smoke tests and benchmarks (no files, no downloads)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from paint_lightning.data.sources import ImageSource, Split, Transform


class ColourPatchSource(ImageSource):
    """Noisy images whose class decides the mean colour of a centred patch.

    Learnable in a few steps, so tests can check that fine-tuning moves accuracy.

    Args:
        num_classes: Number of classes.
        num_train: Images in the train split.
        num_test: Images in the test split.
        image_size: Side of the square RGB images.
        seed: Seed of the pixels and labels.
        classnames: Class names (default ``class 0``, ``class 1``...).
    """

    def __init__(
        self,
        num_classes: int = 4,
        num_train: int = 64,
        num_test: int = 32,
        image_size: int = 16,
        seed: int = 0,
        classnames: list[str] | None = None,
    ) -> None:
        self.num_classes = num_classes
        self.sizes = {"train": num_train, "test": num_test}
        self.image_size = image_size
        self.seed = seed
        self._classnames = classnames or [f"class {i}" for i in range(num_classes)]
        rng = np.random.default_rng(seed)
        self.palette = rng.integers(0, 256, size=(num_classes, 3))

    @property
    def classnames(self) -> list[str]:
        """``class 0``, ``class 1``... unless given."""
        return list(self._classnames)

    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """The split, generated deterministically from ``seed`` and the split name."""
        return _ColourPatches(self, split, transform)

    def describe(self) -> dict[str, Any]:
        """Source and generator settings."""
        return {"source": type(self).__name__, "num_classes": self.num_classes, "seed": self.seed}


class _ColourPatches(Dataset):
    def __init__(self, source: ColourPatchSource, split: Split, transform: Transform | None) -> None:
        self.source = source
        self.transform = transform
        self.split = split
        rng = np.random.default_rng([source.seed, 0 if split == "train" else 1])
        self.labels = rng.integers(0, source.num_classes, size=source.sizes[split]).tolist()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        source, label = self.source, self.labels[index]
        rng = np.random.default_rng([source.seed, 0 if self.split == "train" else 1, index])
        size = source.image_size
        pixels = rng.integers(0, 256, size=(size, size, 3))
        quarter = size // 4
        patch = source.palette[label] + rng.normal(0, 20, size=(size - 2 * quarter, size - 2 * quarter, 3))
        pixels[quarter : size - quarter, quarter : size - quarter] = patch
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
        return (self.transform(image) if self.transform else image), label
