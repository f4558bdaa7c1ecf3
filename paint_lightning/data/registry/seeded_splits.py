"""Data sets without an official split: EuroSAT, SUN397 and RESISC45.

Each offers the split the community uses (SUN397's official partition files, RESISC45's split
files from Neumann et al. 2019, which VTAB, torchgeo and task_vectors use) or, where there is none
(EuroSAT) or it is not wanted, a fixed seeded per-class split (60% train, 20% val, 20% test), or a
CoOp split file (``split_zhou_<Dataset>.json``). The item order is the sorted file list, so a split
depends only on the files, the seed and the setting chosen.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from torchvision import datasets as tv
from torchvision.datasets.utils import download_and_extract_archive, download_url

from paint_lightning.data.registry.base import RegistrySource
from paint_lightning.data.registry.split_index import SplitIndex, sorted_files
from paint_lightning.data.registry.standard_splits import read_coop_split, seeded_split
from paint_lightning.data.sources import Split

_SEEDED = ("train", "val", "test")


class _SplitByRule(RegistrySource):
    """Lists every image once, then picks a split's items by a rule (seeded, files...)."""

    def __init__(self, root: str | None = None, download: bool = False, split_file: str | None = None, seed: int = 0):
        super().__init__(root, download)
        self.split_file = split_file
        self.seed = seed
        self._all: tuple[list[str], list[int]] | None = None

    def all_images(self) -> tuple[list[str], list[int]]:
        """Every image of the data set (sorted paths) and its label."""
        if self._all is None:
            self._all = self._list_all()
        return self._all

    def _list_all(self) -> tuple[list[str], list[int]]:
        raise NotImplementedError

    def _pick(self, split: Split, chosen: list[int], **extra: object) -> SplitIndex:
        files, labels = self.all_images()
        return SplitIndex([labels[i] for i in chosen], [files[i] for i in chosen], self.data_dir, extra=dict(extra))

    def _seeded(self, split: Split) -> SplitIndex:
        chosen = seeded_split(self.all_images()[1], self.seed)[split]
        return self._pick(split, chosen, seed=self.seed)

    def _from_list(self, split: Split, relative: list[str], base: Path, what: str) -> SplitIndex:
        files, _ = self.all_images()
        position = {Path(f).relative_to(base).as_posix(): i for i, f in enumerate(files)}
        absent = [r for r in relative if r.lstrip("/") not in position]
        if absent:
            raise self.missing(f"{len(absent)} images named in {what} are not under {base} (first: {absent[0]})")
        return self._pick(split, sorted(position[r.lstrip("/")] for r in relative), split_list=what)

    def _coop(self, split: Split, base: Path) -> SplitIndex:
        assert self.split_file is not None
        path = Path(self.split_file).expanduser()
        if not path.is_file():
            raise ValueError(f"dataset {self.key!r}: split_file={self.split_file!r} not found.")
        return self._from_list(split, read_coop_split(path, split), base, path.name)


class EuroSAT(_SplitByRule):
    """EuroSAT RGB: 27,000 satellite images, 10 classes (torchvision ``EuroSAT``).

    No official split: by default a seeded per-class split of 16,200 train / 5,400 val / 5,400
    test; ``split_file`` takes CoOp's ``split_zhou_EuroSAT.json`` (13,500 / 5,400 / 8,100) instead.

    Args:
        root: Data root.
        download: Download when missing.
        split_file: A CoOp split file (paths relative to ``eurosat/2750``).
        seed: Seed of the per-class split.
    """

    key = "eurosat"
    folder = "eurosat"
    official_splits = _SEEDED
    downloadable = True
    layout_text = "2750/<Class>/<Class>_<n>.jpg ...   (10 class folders: AnnualCrop, Forest, ... SeaLake)"
    obtain_text = "torchvision downloads it (EuroSAT.zip, mirrored on huggingface.co/datasets/torchgeo/eurosat)."

    def _list_all(self) -> tuple[list[str], list[int]]:
        eurosat = self.torchvision(lambda: tv.EuroSAT(str(self.root)), "no 2750/<class> folders")
        self.expect_classes(eurosat.classes, self.data_dir / "2750")
        return sorted_files(eurosat.samples)

    def _index(self, split: Split) -> SplitIndex:
        if self.split_file is not None:
            return self._coop(split, self.data_dir / "2750")
        return self._seeded(split)

    def _fetch(self) -> None:
        tv.EuroSAT(str(self.root), download=True)


class SUN397(_SplitByRule):
    """SUN397 scenes: 108,754 images, 397 classes (torchvision ``SUN397`` downloads it).

    By default the official partition 1 (``Training_01.txt`` / ``Testing_01.txt``: 19,850 / 19,850,
    50 per class each), as the task-vectors code uses; ``partition: null`` uses a seeded
    per-class 60/20/20 train/val/test split of all images; ``split_file`` a CoOp split file
    (``split_zhou_SUN397.json``, 15,880 / 3,970 / 19,850).

    Args:
        root: Data root.
        download: Download when missing (the images and ``Partitions.zip``).
        partition: Official partition 1-10, or ``None`` for the seeded split.
        split_file: A CoOp split file (paths relative to ``SUN397``); overrides ``partition``.
        seed: Seed of the per-class split.
    """

    key = "sun397"
    folder = "SUN397"
    downloadable = True
    layout_text = """
ClassName.txt                      (397 lines: /a/abbey, /a/airplane_cabin, ...)
a/abbey/sun_aaaenciac.jpg ...      (one folder per class, as in ClassName.txt)
Training_01.txt, Testing_01.txt    (official partitions, from Partitions.zip; also read from Partitions/)
"""
    obtain_text = (
        "torchvision downloads the images (http://vision.princeton.edu/projects/2010/SUN/SUN397.tar.gz, 37 GB); "
        "`paint data download` also fetches the partitions (https://vision.princeton.edu/projects/2010/SUN/download/"
        "Partitions.zip) into SUN397/."
    )
    _PARTITIONS_URL = "https://vision.princeton.edu/projects/2010/SUN/download/Partitions.zip"
    _PARTITIONS_MD5 = "29a205c0a0129d21f36cbecfefe81881"

    def __init__(
        self,
        root: str | None = None,
        download: bool = False,
        partition: int | None = 1,
        split_file: str | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(root, download, split_file, seed)
        if partition is not None and not 1 <= partition <= 10:
            raise ValueError(f"sun397: partition={partition}; SUN397 has partitions 1 to 10 (or null: seeded split).")
        self.partition = partition

    @property
    def splits(self) -> tuple[Split, ...]:
        """``train``/``test`` with a partition; ``train``/``val``/``test`` otherwise."""
        return ("train", "test") if self.partition is not None and self.split_file is None else _SEEDED

    def class_folders(self) -> list[str]:
        """Class paths from ``ClassName.txt`` (``a/abbey``, ``a/apartment_building/outdoor``...), label order."""
        names = self.data_dir / "ClassName.txt"
        if not names.is_file():
            raise self.missing(f"{names} not found")
        folders = [line.strip().lstrip("/") for line in names.read_text().splitlines() if line.strip()]
        self.expect_classes(folders, names)
        return folders

    def _list_all(self) -> tuple[list[str], list[int]]:
        # Each class folder is listed itself (not a recursive walk of the root, which would skip class
        # or letter folders that are symbolic links to another disk).
        pairs = [
            (path, label)
            for label, folder in enumerate(self.class_folders())
            for path in (self.data_dir / folder).glob("sun_*.jpg")
        ]
        return sorted_files(pairs)

    def _index(self, split: Split) -> SplitIndex:
        if self.split_file is not None:
            return self._coop(split, self.data_dir)
        if self.partition is None:
            return self._seeded(split)
        name = f"{'Training' if split == 'train' else 'Testing'}_{self.partition:02d}.txt"
        candidates = [self.data_dir / name, self.data_dir / "Partitions" / name]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise self.missing(f"partition file {name} not found in {self.data_dir} or {self.data_dir / 'Partitions'}")
        index = {folder: i for i, folder in enumerate(self.class_folders())}
        pairs = []
        for line in found.read_text().splitlines():
            relative = line.strip().lstrip("/")
            if relative:
                folder = relative.rsplit("/", 1)[0]
                if folder not in index:
                    raise self.missing(f"{found.name} names {relative}, whose class is not in ClassName.txt")
                pairs.append((self.data_dir / relative, index[folder]))
        files, labels = sorted_files(pairs)
        return SplitIndex(labels, files, self.data_dir, extra={"partition": self.partition})

    def _fetch(self) -> None:
        tv.SUN397(str(self.root), download=True)
        if not any((d / "Training_01.txt").is_file() for d in (self.data_dir, self.data_dir / "Partitions")):
            download_and_extract_archive(self._PARTITIONS_URL, str(self.data_dir), md5=self._PARTITIONS_MD5)


class RESISC45(_SplitByRule):
    """NWPU-RESISC45 remote-sensing scenes: 31,500 images, 45 classes (not in torchvision).

    By default the split files of Neumann et al. 2019 (18,900 train / 6,300 val / 6,300 test),
    used by VTAB, torchgeo and task_vectors; ``split: seeded`` uses a seeded per-class 60/20/20
    split instead. Downloads (torchvision's download helpers) take torchgeo's mirror of the images
    and the split files.

    Args:
        root: Data root.
        download: Download when missing.
        split: ``files`` (the split files) or ``seeded``.
        seed: Seed of the per-class split.
    """

    key = "resisc45"
    folder = "resisc45"
    official_splits = _SEEDED
    downloadable = True
    layout_text = """
NWPU-RESISC45/<class>/<class>_001.jpg ...   (45 class folders: airplane, airport, ..., wetland)
resisc45-train.txt, resisc45-val.txt, resisc45-test.txt   (one file name per line)
"""
    obtain_text = """downloaded from torchgeo's mirror (https://hf.co/datasets/torchgeo/resisc45: NWPU-RESISC45.zip,
0.4 GB, and the split files resisc45-{train,val,test}.txt, first published at
https://storage.googleapis.com/remote_sensing_representations/); MD5-checked."""
    _MIRROR = "https://hf.co/datasets/torchgeo/resisc45/resolve/a826b44d938a883185f11ebe3d512d38b464312f/"
    _MD5: ClassVar[dict[str, str]] = {
        "NWPU-RESISC45.zip": "75206b2e16446591afa88e2628744886",
        "resisc45-train.txt": "b5a4c05a37de15e4ca886696a85c403e",
        "resisc45-val.txt": "a0770cee4c5ca20b8c32bbd61e114805",
        "resisc45-test.txt": "3dda9e4988b47eb1de9f07993653eb08",
    }

    def __init__(
        self,
        root: str | None = None,
        download: bool = False,
        split: Literal["files", "seeded"] = "files",
        seed: int = 0,
    ) -> None:
        super().__init__(root, download, None, seed)
        if split not in ("files", "seeded"):
            raise ValueError(f"resisc45: split={split!r}; use 'files' (the standard split files) or 'seeded'.")
        self.split = split

    def _list_all(self) -> tuple[list[str], list[int]]:
        images = self.data_dir / "NWPU-RESISC45"
        if not images.is_dir():
            raise self.missing(f"{images} not found")
        classes = sorted(p.name for p in images.iterdir() if p.is_dir())
        self.expect_classes(classes, images)
        pairs = [(path, label) for label, name in enumerate(classes) for path in (images / name).glob("*.jpg")]
        return sorted_files(pairs)

    def _index(self, split: Split) -> SplitIndex:
        if self.split == "seeded":
            return self._seeded(split)
        listing = self.data_dir / f"resisc45-{split}.txt"
        if not listing.is_file():
            raise self.missing(f"split file {listing} not found (or set split: seeded)")
        files, _ = self.all_images()
        by_name = {Path(f).name: Path(f).relative_to(self.data_dir / "NWPU-RESISC45").as_posix() for f in files}
        names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        absent = [n for n in names if n not in by_name]
        if absent:
            raise self.missing(f"{len(absent)} images of {listing.name} are missing (first: {absent[0]})")
        return self._from_list(split, [by_name[n] for n in names], self.data_dir / "NWPU-RESISC45", listing.name)

    def _fetch(self) -> None:
        if not (self.data_dir / "NWPU-RESISC45").is_dir():
            name = "NWPU-RESISC45.zip"
            download_and_extract_archive(self._MIRROR + name, str(self.data_dir), md5=self._MD5[name])
        for name, md5 in self._MD5.items():
            if name.endswith(".txt") and not (self.data_dir / name).is_file():
                download_url(self._MIRROR + name, str(self.data_dir), md5=md5)
