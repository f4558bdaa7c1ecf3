"""The base of the registry's data sets: a root, the stored prompts, an index per split.

Every registry data set lies in its own sub-folder of one data root (torchvision's convention:
``<root>/MNIST``, ``<root>/dtd``, ``<root>/stanford_cars``...), so one root serves them all. The
root is the task's ``root``, else the ``PAINT_DATA_ROOT`` environment variable; ``~`` and
``$VARIABLES`` in it are expanded.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from torch.utils.data import Dataset

from paint_lightning.data.labelled_files import files_fingerprint
from paint_lightning.data.registry import prompts
from paint_lightning.data.registry.missing import (
    ChecksumError,
    DataNotFoundError,
    DownloadError,
    checksum_problem,
    download_problem,
)
from paint_lightning.data.registry.split_index import SplitIndex
from paint_lightning.data.sources import ImageSource, Split, Transform
from paint_lightning.io.files import file_lock

DATA_ROOT_ENV = "PAINT_DATA_ROOT"


def resolve_root(root: str | os.PathLike[str] | None) -> Path | None:
    """``root`` (else ``$PAINT_DATA_ROOT``) with ``~`` and ``$VARIABLES`` expanded; ``None`` if neither is set."""
    value = os.fspath(root) if root is not None else os.environ.get(DATA_ROOT_ENV)
    if value is None or not value.strip():
        return None
    return Path(os.path.expandvars(value)).expanduser()


class RegistrySource(ImageSource):
    """A data set of the registry (see :data:`paint_lightning.data.registry.REGISTRY`).

    Subclasses set the class attributes and implement :meth:`_index` (and :meth:`_fetch` when
    torchvision can download the data set).

    Args:
        root: The data root holding this data set's folder (default: ``$PAINT_DATA_ROOT``).
        download: Download the files on first use when they are missing (torchvision data sets
            only; processes take turns under a lock file in ``root``; ``paint data download`` does it ahead of time).
    """

    key: ClassVar[str]  # registry key, also the key of its stored prompts
    folder: ClassVar[str]  # sub-folder of the root holding the data set
    official_splits: ClassVar[tuple[Split, ...]] = ("train", "test")
    downloadable: ClassVar[bool] = False
    layout_text: ClassVar[str] = ""  # the expected files, relative to the data set's folder
    obtain_text: ClassVar[str] = ""  # how to get them
    duplicate_classnames: ClassVar[bool] = False  # the stored names give two classes one name (ImageNet)

    def __init__(self, root: str | None = None, download: bool = False) -> None:
        self.root = resolve_root(root)
        self.download = download
        self._indices: dict[str, SplitIndex] = {}
        self._fetched: bool | DownloadError = False  # download: true tried once per source; a failure is kept

    # -- ImageSource -----------------------------------------------------------------------------

    @property
    def classnames(self) -> list[str]:
        """The stored class names (see :mod:`paint_lightning.data.registry.prompts`)."""
        return list(prompts.load(self.key).classnames)

    @property
    def templates(self) -> list[str]:
        """The stored prompt templates, used when the task gives none."""
        return list(prompts.load(self.key).templates)

    @property
    def splits(self) -> tuple[Split, ...]:
        """The splits this data set offers (``val`` where it has an official validation split)."""
        return self.official_splits

    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """One split; items are ``(transform(RGB PIL image), label)``."""
        return self.index(split).dataset(transform)

    def labels(self, split: Split) -> list[int]:
        """Labels of ``split`` in item order."""
        return list(self.index(split).labels)

    def fingerprint(self, split: Split) -> str:
        """Hash of the split's relative file list and labels (or, for array files, labels and length)."""
        index = self.index(split)
        return files_fingerprint(split, self.classnames, index.items(), dataset=self.key, **index.extra)

    def describe(self) -> dict[str, Any]:
        """Registry key, root and settings."""
        settings = {k: v for k, v in vars(self).items() if not k.startswith("_") and k not in ("root", "download")}
        return {"source": type(self).__name__, "dataset": self.key, "root": str(self.root), **settings}

    def layout(self) -> str:
        """The expected files under this source's folder."""
        where = self.data_dir if self.root is not None else Path("<root>") / self.folder
        text = "\n".join(f"  {line}" for line in self.layout_text.strip().splitlines())
        return f"{where}/\n{text}"

    def obtain(self) -> str:
        """How to get the files."""
        return self.obtain_text.strip()

    def can_fetch(self) -> bool:
        """Whether torchvision can download this data set."""
        return self.downloadable

    def fetch(self) -> None:
        """Downloads the files (torchvision's download), then checks every split."""
        if not self.downloadable:
            super().fetch()
        self._require_root()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._locked_fetch()
        self._fetched = True
        self._indices.clear()
        for split in self.splits:
            self.index(split)

    # -- for subclasses --------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """``<root>/<folder>``."""
        return self._require_root() / self.folder

    def index(self, split: Split) -> SplitIndex:
        """The split's files and labels (built once, then cached)."""
        if split not in self.splits:
            raise ValueError(
                f"dataset {self.key!r} has no {split!r} split (it has {', '.join(self.splits)}); "
                "use heldout_from: train to carve the held-out images from the train split."
            )
        if split not in self._indices:
            self._require_root()
            if self.download and self.downloadable:
                self._fetch_once()
            index = self._index(split)
            self._check_labels(split, index.labels)
            self._indices[split] = index
        return self._indices[split]

    @abstractmethod
    def _index(self, split: Split) -> SplitIndex:
        """Reads the split's files and labels; raises :meth:`missing` when they are not there."""

    def _fetch(self) -> None:
        """Downloads the data set with torchvision (subclasses with ``downloadable = True``)."""
        raise NotImplementedError

    def _locked_fetch(self) -> None:
        """:meth:`_fetch` under a lock file in the root: processes (DDP ranks) download one at a time.

        torchvision checks what is already there, so the processes after the first find the files and
        download nothing.
        """
        root = self._require_root()
        with file_lock(root / f".{self.key}.download.lock"):
            try:
                self._fetch()
            except Exception as err:  # whatever stopped torchvision's download: network, disk, a bad archive
                raise self.download_failed(err) from err

    def _fetch_once(self) -> None:
        """:meth:`_locked_fetch` on first use; a failed download is not tried again for the next split."""
        if isinstance(self._fetched, DownloadError):
            raise self._fetched
        if not self._fetched:
            try:
                self._locked_fetch()
            except DownloadError as err:
                self._fetched = err
                raise
            self._fetched = True

    def download_failed(self, err: Exception) -> DownloadError:
        """The error for a download that failed: from where, why, and how to place the files by hand."""
        what = download_problem(err)
        return DownloadError(
            f"dataset {self.key!r} (root={str(self.root)!r}): {what}.\nPlace the files by hand instead, in this "
            f"layout (docs/datasets.md):\n{self.layout()}\nWhere to get them: {self.obtain()}\nWith the files in "
            "place, nothing is downloaded.",
            what,
        )

    def missing(self, what: str) -> DataNotFoundError:
        """The error for missing or incomplete files: what is wrong, the layout, how to get it."""
        how = self.obtain()
        if self.downloadable and not self.download:
            how = f"{how}\n(or set `download: true` on the task, or run `paint data download --config ...`)"
        return DataNotFoundError(
            f"dataset {self.key!r} (root={str(self.root)!r}): {what}.\nExpected layout:\n{self.layout()}\n"
            f"How to get it: {how}",
            what,
        )

    def expect_classes(self, found: Sequence[str], where: Path | str) -> None:
        """Refuses a class list whose length is not the registry's (labels would be wrong)."""
        if len(found) != len(self.classnames):
            raise self.missing(
                f"found {len(found)} classes in {where}, expected {len(self.classnames)}; the copy is incomplete or "
                "not this data set (labels would not match the class names)"
            )

    def torchvision(self, factory: Callable[[], Any], what: str) -> Any:
        """Builds a torchvision data set, turning its 'not found or corrupted' errors into :meth:`missing`.

        Files that are there but fail torchvision's MD5 check (:meth:`failed_checksums`) are said to be so.
        """
        try:
            return factory()
        except (RuntimeError, FileNotFoundError) as err:
            failed = self.failed_checksums(err)
            if failed:
                raise self.corrupt(failed) from err
            absent = self.absent_files()
            if absent:
                raise self.missing(f"{', '.join(absent)} not found in {self.data_dir}") from err
            raise self.missing(f"{what} ({type(err).__name__}: {err})") from err

    def absent_files(self) -> list[str]:
        """Files torchvision needs that are not there (subclasses that know them; empty here)."""
        return []

    def failed_checksums(self, err: Exception) -> list[tuple[str, str]]:
        """``(file, expected MD5)`` of the files present that fail torchvision's check, after ``err``.

        Empty here; subclasses whose torchvision class checks MD5 sums say which of their files fail.
        """
        return []

    def corrupt(self, failed: Sequence[tuple[str, str]]) -> ChecksumError:
        """The error for files that are there but fail torchvision's MD5 check, and what to do."""
        what = checksum_problem(failed, self.data_dir)
        return ChecksumError(
            f"dataset {self.key!r} (root={str(self.root)!r}): {what}.\nExpected layout:\n{self.layout()}\n"
            f"How to get it: {self.obtain()}",
            what,
        )

    def _check_labels(self, split: str, labels: list[int]) -> None:
        count = len(self.classnames)
        bad = next((label for label in labels if not 0 <= label < count), None)
        if bad is not None:
            raise self.missing(f"the {split} split has label {bad}, outside 0..{count - 1}")

    def _require_root(self) -> Path:
        if self.root is None:
            raise ValueError(
                f"dataset {self.key!r}: no data root. Set `root:` on the task (e.g. root: ~/data) or the "
                f"{DATA_ROOT_ENV} environment variable to the folder holding your data sets."
            )
        return self.root
