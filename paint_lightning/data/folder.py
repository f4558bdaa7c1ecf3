"""Tasks from image folders: ``root/<split>/<class>/*.png`` (torchvision ``ImageFolder`` layout)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

from paint_lightning.data.file_identity import file_identities
from paint_lightning.data.labelled_files import relative_items
from paint_lightning.data.sources import ImageSource, Split, Transform, fingerprint_json

log = logging.getLogger(__name__)

BadImagePolicy = Literal["error", "skip"]


class ImageFolderSource(ImageSource):
    """Images in ``root/train/<class>/...`` and ``root/test/<class>/...`` (and optionally ``root/val``).

    The class folders of the train split define the labels of every split: label ``i`` is the
    ``i``-th train class folder in sorted order. Another split with a class folder the train split
    lacks is an error; one missing a train class is an error too unless
    ``allow_missing_classes`` (then a warning), and its images keep the train labels either way, so
    a test folder with fewer classes never shifts labels onto the wrong heads.

    Class names are the train class folder names with ``_`` read as a space, unless the task
    gives ``classnames``.

    Args:
        root: Folder holding one sub-folder per split.
        train_dir: Sub-folder of the train split.
        test_dir: Sub-folder of the test split.
        on_bad_image: ``error`` stops at an unreadable image naming the file (nothing is decoded
            before it is read); ``skip`` drops unreadable images and logs them: the split lengths
            must be exact before training, so every image of a split is decoded once, when the
            split is first built (once per run and split; ``error`` decodes nothing up front).
        templates: Recommended prompt templates for this data set (optional).
        val_dir: Sub-folder of an official validation split (optional); with it the task may use
            ``heldout_from: val`` to choose alpha on it instead of on a part of the train split.
        allow_missing_classes: Let the test (or val) split lack some train classes (a warning
            names them); otherwise that is an error.
    """

    def __init__(
        self,
        root: str,
        train_dir: str = "train",
        test_dir: str = "test",
        on_bad_image: BadImagePolicy = "error",
        templates: list[str] | None = None,
        val_dir: str | None = None,
        allow_missing_classes: bool = False,
    ) -> None:
        self.root = Path(root).expanduser()
        self.split_dirs: dict[str, str] = {"train": train_dir, "test": test_dir}
        if val_dir is not None:
            self.split_dirs["val"] = val_dir
        self.on_bad_image = on_bad_image
        self.templates = templates
        self.allow_missing_classes = allow_missing_classes
        # Each split is walked (and, with ``skip``, checked) once per source: a run asks for it often.
        self._classes: list[str] | None = None
        self._walked: dict[str, tuple[list[tuple[str, int]], bool]] = {}  # split -> (samples, allow_empty)
        self._readable: dict[str, list[tuple[str, int]]] = {}  # split -> samples that decode (``skip``)
        self._fingerprints: dict[str, str] = {}
        if not self.root.is_dir():
            raise ValueError(
                f"source.root={root!r}: folder not found. Point it at a folder holding "
                f"'{train_dir}/<class>/*' and '{test_dir}/<class>/*' images."
            )

    @property
    def splits(self) -> tuple[Split, ...]:
        """``train`` and ``test``, plus ``val`` when ``val_dir`` is set."""
        return ("train", "val", "test") if "val" in self.split_dirs else ("train", "test")

    @property
    def classnames(self) -> list[str]:
        """Sorted class folder names of the train split, ``_`` replaced by spaces."""
        return [name.replace("_", " ") for name in self.class_folders()]

    def class_folders(self) -> list[str]:
        """The train split's class folder names in label order (sorted; listed once per source)."""
        if self._classes is None:
            self._classes = _subfolders(self._split_root("train"))
        return list(self._classes)

    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """The split as a torchvision ``ImageFolder`` labelled by the train split's classes.

        The split's folders are walked once per source (and, with ``on_bad_image: skip``, its
        images checked once); later calls reuse that list.
        """
        samples, allow_empty = self._walk(split)
        if self.on_bad_image == "skip":
            if split not in self._readable:
                self._readable[split] = _readable(samples, self._split_root(split))
            samples = self._readable[split]
        return _CheckedImageFolder(str(self._split_root(split)), transform, self.class_folders(), samples, allow_empty)

    def image_ids(self, split: Split) -> list[str]:
        """The split's image paths, folders resolved (unreadable images included: nothing is decoded)."""
        return file_identities(path for path, _ in self._walk(split)[0])

    def _walk(self, split: Split) -> tuple[list[tuple[str, int]], bool]:
        """The split's ``(path, label)`` files in ``ImageFolder`` order, and whether classes may lack files."""
        if split not in self._walked:
            self._walked[split] = self._list(split)
        return self._walked[split]

    def _list(self, split: Split) -> tuple[list[tuple[str, int]], bool]:
        split_root = self._split_root(split)
        classes = self.class_folders()
        missing: list[str] = []
        if split != "train":
            present = _subfolders(split_root)
            extra = sorted(set(present) - set(classes))
            if extra:
                raise ValueError(
                    f"source.root={str(self.root)!r}: the {split} folder '{self.split_dirs[split]}' has class "
                    f"folders {extra} that are not in the train split '{self.split_dirs['train']}' (which defines "
                    "the labels). Remove or rename them, or add them to the train split."
                )
            missing = sorted(set(classes) - set(present))
            if missing and not self.allow_missing_classes:
                raise ValueError(
                    f"source.root={str(self.root)!r}: the {split} folder '{self.split_dirs[split]}' lacks class "
                    f"folders {missing} of the train split. Add them, or set source.allow_missing_classes=true "
                    "to evaluate without those classes (their labels stay reserved)."
                )
            if missing:
                log.warning(
                    "%s: the %s split has no folder for classes %s; evaluating without them.", self.root, split, missing
                )
        try:
            index = {name: i for i, name in enumerate(classes)}
            return make_dataset(str(split_root), index, IMG_EXTENSIONS, None, bool(missing)), bool(missing)
        except FileNotFoundError as err:
            raise ValueError(
                f"source.root={str(self.root)!r}, {split} split: {err}. Add images or remove the folder."
            ) from err

    def labels(self, split: Split) -> list[int]:
        """Labels of ``split`` in item order."""
        return list(self.dataset(split).targets)  # type: ignore[attr-defined]

    def fingerprint(self, split: Split) -> str:
        """Hash of the class folders and the sorted (path relative to the split folder, label) list.

        Computed once per source and split (the files are not expected to change during a run).
        """
        if split not in self._fingerprints:
            folder = self.dataset(split)
            base = self._split_root(split)
            items = relative_items(folder.samples, base)  # type: ignore[attr-defined]
            payload = {"classes": self.class_folders(), "split": split, "items": sorted(items)}
            self._fingerprints[split] = fingerprint_json(payload)
        return self._fingerprints[split]

    def describe(self) -> dict[str, Any]:
        """Source and root."""
        return {"source": type(self).__name__, "root": str(self.root)}

    def layout(self) -> str:
        """The expected folders."""
        lines = [f"{self.root}/{d}/<class name>/<image>.jpg|png|...   ({s} split)" for s, d in self.split_dirs.items()]
        return "\n".join(lines) + "\nthe train split's class folders define the labels of every split"

    def obtain(self) -> str:
        """Your own images: nothing to download."""
        return "Your own images: put one folder per class under each split folder (see docs/datasets.md)."

    def _split_root(self, split: Split) -> Path:
        if split not in self.split_dirs:
            raise ValueError(
                f"source.root={str(self.root)!r}: this folder task has no {split} split; set source.{split}_dir "
                "to the folder of its official validation images, or use heldout_from: train."
            )
        path = self.root / self.split_dirs[split]
        if not path.is_dir():
            raise ValueError(
                f"source.root={str(self.root)!r} has no '{self.split_dirs[split]}' folder for the "
                f"{split} split; create it or set source.{split}_dir."
            )
        return path


def _subfolders(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.is_dir())


class _CheckedImageFolder(ImageFolder):
    """``ImageFolder`` over a listed split (fixed classes, no walk); its errors name the unreadable file."""

    def __init__(
        self,
        root: str,
        transform: Transform | None,
        classes: list[str],
        samples: list[tuple[str, int]],
        allow_empty: bool,
    ) -> None:
        self._fixed_classes = list(classes)
        self._listed = samples
        super().__init__(root, transform=transform, allow_empty=allow_empty)

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        return list(self._fixed_classes), {name: i for i, name in enumerate(self._fixed_classes)}

    def make_dataset(self, *args: Any, **kwargs: Any) -> list[tuple[str, int]]:
        return list(self._listed)  # walked once by ImageFolderSource

    def __getitem__(self, index: int) -> Any:
        path, _ = self.samples[index]
        try:
            return super().__getitem__(index)
        except (OSError, UnidentifiedImageError, SyntaxError) as err:
            raise ValueError(
                f"cannot read image {path}: {err}. Remove or replace the file, or set "
                "source.on_bad_image=skip to drop unreadable images."
            ) from err


def _readable(samples: list[tuple[str, int]], root: Path) -> list[tuple[str, int]]:
    """``samples`` without the images that cannot be decoded (each logged)."""
    keep = []
    for path, label in samples:
        try:
            with Image.open(path) as image:
                image.load()
            keep.append((path, label))
        except (OSError, UnidentifiedImageError, SyntaxError) as err:
            log.warning("Skipping unreadable image %s (%s).", path, err)
    dropped = len(samples) - len(keep)
    if dropped:
        log.warning("Skipped %d unreadable images under %s.", dropped, root)
    return keep
