"""Tasks from image folders: ``root/<split>/<class>/*.png`` (torchvision ``ImageFolder`` layout)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision.datasets import ImageFolder

from paint_lightning.data.sources import ImageSource, Split, Transform

log = logging.getLogger(__name__)

BadImagePolicy = Literal["error", "skip"]


class ImageFolderSource(ImageSource):
    """Images in ``root/train/<class>/...`` and ``root/test/<class>/...``.

    Class names are the sub-folder names in sorted order with ``_`` read as a space, unless
    ``classnames`` is given in the task.

    Args:
        root: Folder holding one sub-folder per split.
        train_dir: Sub-folder of the train split.
        test_dir: Sub-folder of the test split.
        on_bad_image: ``error`` stops at an unreadable image naming the file; ``skip`` drops
            unreadable images (checked once, when the split is first built) and logs them.
        templates: Recommended prompt templates for this data set (optional).
    """

    def __init__(
        self,
        root: str,
        train_dir: str = "train",
        test_dir: str = "test",
        on_bad_image: BadImagePolicy = "error",
        templates: list[str] | None = None,
    ) -> None:
        self.root = Path(root).expanduser()
        self.split_dirs = {"train": train_dir, "test": test_dir}
        self.on_bad_image = on_bad_image
        self.templates = templates
        if not self.root.is_dir():
            raise ValueError(
                f"source.root={root!r}: folder not found. Point it at a folder holding "
                f"'{train_dir}/<class>/*' and '{test_dir}/<class>/*' images."
            )

    @property
    def classnames(self) -> list[str]:
        """Sorted class folder names of the train split, ``_`` replaced by spaces."""
        split_root = self._split_root("train")
        return [p.name.replace("_", " ") for p in sorted(split_root.iterdir()) if p.is_dir()]

    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """The split as a torchvision ``ImageFolder`` (bad images handled per ``on_bad_image``)."""
        folder = _CheckedImageFolder(str(self._split_root(split)), transform=transform)
        if self.on_bad_image == "skip":
            folder.drop_unreadable()
        return folder

    def describe(self) -> dict[str, Any]:
        """Source and root."""
        return {"source": type(self).__name__, "root": str(self.root)}

    def _split_root(self, split: Split) -> Path:
        path = self.root / self.split_dirs[split]
        if not path.is_dir():
            raise ValueError(
                f"source.root={str(self.root)!r} has no '{self.split_dirs[split]}' folder for the "
                f"{split} split; create it or set source.{split}_dir."
            )
        return path


class _CheckedImageFolder(ImageFolder):
    """``ImageFolder`` whose errors name the file that could not be read."""

    def __getitem__(self, index: int) -> Any:
        path, _ = self.samples[index]
        try:
            return super().__getitem__(index)
        except (OSError, UnidentifiedImageError, SyntaxError) as err:
            raise ValueError(
                f"cannot read image {path}: {err}. Remove or replace the file, or set "
                "source.on_bad_image=skip to drop unreadable images."
            ) from err

    def drop_unreadable(self) -> None:
        keep = []
        for path, label in self.samples:
            try:
                with Image.open(path) as image:
                    image.load()
                keep.append((path, label))
            except (OSError, UnidentifiedImageError, SyntaxError) as err:
                log.warning("Skipping unreadable image %s (%s).", path, err)
        dropped = len(self.samples) - len(keep)
        if dropped:
            log.warning("Skipped %d unreadable images under %s.", dropped, self.root)
        self.samples = self.imgs = keep
        self.targets = [label for _, label in keep]
