"""Where a task's labelled images come from.

A source knows its class names and can build a train or test split as a map-style dataset whose
items are ``(image, label)``; the image is whatever the given transform makes of a PIL image.
Concrete sources: torchvision data sets, image folders, the offline world, scikit-learn digits.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Literal

from torch.utils.data import Dataset

Split = Literal["train", "test"]
Transform = Callable[[Any], Any]


class ImageSource(ABC):
    """A labelled image data set with a train and a test split."""

    @property
    @abstractmethod
    def classnames(self) -> list[str]:
        """Natural-language class names, indexed by label."""

    @abstractmethod
    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """Builds one split; items are ``(transform(pil_image), int_label)``."""

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of the source, for reports and metadata."""
        return {"source": type(self).__name__}
