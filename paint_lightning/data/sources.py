"""Where a task's labelled images come from.

A source knows its class names and can build a split (``train``, ``test`` and, where the data
set has an official one, ``val``) as a map-style dataset whose items are ``(image, label)``; the
image is whatever the given transform makes of a PIL image. Concrete sources: torchvision data
sets, image folders, CSV files, the offline world, scikit-learn digits.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import PurePath
from typing import Any, Literal

from torch.utils.data import Dataset

from paint_lightning.data.file_identity import file_identities

Split = Literal["train", "val", "test"]
Transform = Callable[[Any], Any]

_PLAIN = (str, int, float, bool, type(None), PurePath)


class ImageSource(ABC):
    """A labelled image data set with a train and a test split (and optionally a val split)."""

    @property
    @abstractmethod
    def classnames(self) -> list[str]:
        """Natural-language class names, indexed by label."""

    @abstractmethod
    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """Builds one split; items are ``(transform(pil_image), int_label)``."""

    @property
    def splits(self) -> tuple[Split, ...]:
        """The splits :meth:`dataset` can build (``train`` and ``test``, plus ``val`` where official)."""
        return ("train", "test")

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of the source, for reports and metadata."""
        return {"source": type(self).__name__}

    def image_ids(self, split: Split) -> list[str] | None:
        """What makes each image of ``split`` itself, to find images shared by two splits (no decoding).

        The default gives the file paths (folders resolved) of data sets whose items are
        ``(path, label)`` ``samples`` (image folders, label files, the registry's file data sets),
        and ``None`` otherwise: items generated per split, or read from one array file per split,
        are told apart by their position in their own split, so distinct splits cannot share one.
        Override it when two splits draw from one collection. See :mod:`paint_lightning.data.overlap`.
        """
        samples = getattr(self.dataset(split, None), "samples", None)
        if not isinstance(samples, list) or not all(isinstance(s, tuple) and len(s) == 2 for s in samples[:1]):
            return None
        return file_identities(path for path, _ in samples)

    # -- optional: what ``paint data check`` / ``paint data download`` report and do ---------------

    def labels(self, split: Split) -> list[int] | None:
        """The labels of ``split`` in item order, read without decoding images (``None``: unknown).

        ``paint data check`` counts images per class with it; sources backed by files or label
        arrays override it.
        """
        return None

    def layout(self) -> str:
        """Where the files of this source must lie on disk (a short, indented text; empty: none)."""
        return ""

    def obtain(self) -> str:
        """How to get the files: the download flag, the URL, or the manual steps (empty: nothing to get)."""
        return ""

    def can_fetch(self) -> bool:
        """Whether :meth:`fetch` can download the files (torchvision data sets with a download URL)."""
        return False

    def fetch(self) -> None:
        """Downloads the files where possible (``paint data download``).

        Raises:
            NotImplementedError: When the files cannot be downloaded automatically; :meth:`obtain`
                says how to get them.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot download its files. {self.obtain()}".strip())

    def fingerprint(self, split: Split) -> str:
        """A short hash that changes when the items of ``split`` (or their labels) change.

        Checkpoints record it for every split they were trained, swept or tested on, and refuse to
        reuse held-out indices, zero-shot counts or heads when it differs. The default hashes the
        source's type, :meth:`describe`, its plain public settings, its class names and the split's
        length; sources backed by files override it with a hash of the file list and labels.
        """
        settings = {
            key: (str(value) if isinstance(value, PurePath) else value)
            for key, value in sorted(vars(self).items())
            if not key.startswith("_") and (isinstance(value, _PLAIN) or _plain_sequence(value))
        }
        payload = {
            "type": f"{type(self).__module__}.{type(self).__qualname__}",
            "describe": self.describe(),
            "settings": settings,
            "classnames": list(self.classnames),
            "split": split,
            "length": len(self.dataset(split, None)),  # type: ignore[arg-type]
        }
        return fingerprint_json(payload)


class WrappedSource(ImageSource):
    """A source made from another one (``self.source``), with its class names, templates and splits.

    Subclasses set ``self.source`` and change what they change (which images, how they look).
    """

    source: ImageSource

    @property
    def classnames(self) -> list[str]:
        """The wrapped source's class names."""
        return list(self.source.classnames)

    @property
    def templates(self) -> list[str] | str | None:
        """The wrapped source's recommended templates (if any)."""
        return getattr(self.source, "templates", None)

    @property
    def splits(self) -> tuple[Split, ...]:
        """The wrapped source's splits."""
        return self.source.splits

    def image_ids(self, split: Split) -> list[str] | None:
        """The wrapped source's image identities (subclasses that keep some images choose theirs)."""
        return self.source.image_ids(split)


def fingerprint_json(payload: Any) -> str:
    """First 16 hex digits of the SHA-256 of ``payload`` as canonical JSON."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(item, _PLAIN) for item in value)
