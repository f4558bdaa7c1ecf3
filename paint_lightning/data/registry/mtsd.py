"""A second traffic-sign set for GTSRB's broad-transfer experiment: crops of the Mapillary Traffic Sign Dataset.

The paper (following mlfoundations/patching ``src/datasets/mtsd.py``) crops every annotated sign
of MTSD's non-panorama images, drops ``other-sign``, and names the class by the middle part of the
MTSD label (``regulatory--stop--g1`` -> ``stop``); MTSD's official val split is the test split.
:func:`crop_mtsd` makes that folder layout from the MTSD download.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from paint_lightning.data.folder import ImageFolderSource
from paint_lightning.data.registry.base import RegistrySource
from paint_lightning.data.registry.split_index import SplitIndex
from paint_lightning.data.sources import Split


class MTSD(RegistrySource):
    """Traffic-sign crops in ``mtsd/train/<class>/`` and ``mtsd/val/<class>/`` (val is the test split).

    Class names are the train class folder names with ``_`` and ``-`` read as spaces; the stored
    templates are GTSRB's traffic-sign templates. The train split's folders define the labels.

    Args:
        root: Data root.
        download: Unused (MTSD is obtained by hand, under its licence).
        allow_missing_classes: Let the val split lack some train classes (a warning names them).
    """

    key = "mtsd"
    folder = "mtsd"
    layout_text = """
train/<class>/<image>.jpg ...   (one folder per sign class, e.g. stop/, yield/)
val/<class>/<image>.jpg ...     (MTSD's official val split, used as the test split)
"""
    obtain_text = """Manual (licence): download the fully annotated MTSD (images + annotations) from
https://www.mapillary.com/dataset/trafficsign, then crop the signs into the layout above with
`python -c "from paint_lightning.data.registry.mtsd import crop_mtsd; crop_mtsd('<mtsd download>', '<root>/mtsd')"`."""

    def __init__(self, root: str | None = None, download: bool = False, allow_missing_classes: bool = False) -> None:
        super().__init__(root, download)
        self.allow_missing_classes = allow_missing_classes

    @property
    def classnames(self) -> list[str]:
        """The train class folder names, ``_`` and ``-`` read as spaces."""
        return [name.replace("_", " ").replace("-", " ") for name in self._folder_source().class_folders()]

    def _folder_source(self) -> ImageFolderSource:
        if not (self.data_dir / "train").is_dir() or not (self.data_dir / "val").is_dir():
            raise self.missing(f"{self.data_dir / 'train'} or {self.data_dir / 'val'} not found")
        return ImageFolderSource(str(self.data_dir), test_dir="val", allow_missing_classes=self.allow_missing_classes)

    def _index(self, split: Split) -> SplitIndex:
        samples = self._folder_source().dataset(split).samples  # type: ignore[attr-defined]
        return SplitIndex([label for _, label in samples], [path for path, _ in samples], self.data_dir)


def crop_mtsd(mtsd_dir: str, out_dir: str, splits: tuple[str, ...] = ("train", "val")) -> dict[str, int]:
    """Crops MTSD's annotated signs into ``out_dir/<split>/<class>/<image>__<object>.jpg``.

    Args:
        mtsd_dir: The MTSD download: ``images/<id>.jpg``, ``annotations/<id>.json`` (or
            ``annotations/annotations/``) and ``splits/<split>.txt`` (or ``annotations/splits/``).
        out_dir: Where the crops go (``<root>/mtsd``).
        splits: MTSD splits to crop.

    Returns:
        Crops written per split.
    """
    src, out = Path(mtsd_dir).expanduser(), Path(out_dir).expanduser()
    annotations = next((p for p in (src / "annotations" / "annotations", src / "annotations") if p.is_dir()), None)
    if annotations is None:
        raise ValueError(f"mtsd_dir={mtsd_dir!r}: no annotations/ folder; point it at the MTSD download.")
    written: dict[str, int] = {}
    for split in splits:
        listing = next(
            (
                p
                for p in (src / "splits" / f"{split}.txt", src / "annotations" / "splits" / f"{split}.txt")
                if p.is_file()
            ),
            None,
        )
        if listing is None:
            raise ValueError(f"mtsd_dir={mtsd_dir!r}: no splits/{split}.txt.")
        written[split] = 0
        for image_id in (line.strip() for line in listing.read_text().splitlines() if line.strip()):
            record = json.loads((annotations / f"{image_id}.json").read_text())
            if record.get("ispano"):
                continue
            with Image.open(src / "images" / f"{image_id}.jpg") as image:
                for obj in record["objects"]:
                    if obj["label"] == "other-sign":
                        continue
                    label = obj["label"].split("--")[1] if "--" in obj["label"] else obj["label"]
                    box = obj["bbox"]
                    crop = image.crop(tuple(round(box[k]) for k in ("xmin", "ymin", "xmax", "ymax")))
                    target = out / split / label / f"{image_id}__{obj['key']}.jpg"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    crop.convert("RGB").save(target)
                    written[split] += 1
    return written
