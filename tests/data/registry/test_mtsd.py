"""MTSD: crops of the Mapillary Traffic Sign Dataset in the folder layout the registry reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from paint_lightning.data.registry import build_source
from paint_lightning.data.registry.mtsd import crop_mtsd


def _mtsd_download(root: Path) -> None:
    """MTSD's fully annotated release: images/<id>.jpg, annotations/<id>.json, splits/<split>.txt."""
    objects = {
        "img_a": [("regulatory--stop--g1", (2, 2, 10, 10)), ("other-sign", (0, 0, 4, 4))],
        "img_b": [("warning--curve-left--g2", (5, 5, 15, 12)), ("regulatory--stop--g1", (1, 1, 6, 6))],
        "img_c": [("regulatory--stop--g1", (3, 3, 9, 9))],
        "img_pano": [("regulatory--stop--g1", (0, 0, 5, 5))],
    }
    for folder in ("images", "annotations", "splits"):
        (root / folder).mkdir(parents=True)
    for image_id, boxes in objects.items():
        Image.fromarray(np.full((16, 16, 3), 120, np.uint8)).save(root / "images" / f"{image_id}.jpg")
        record = {
            "ispano": image_id == "img_pano",
            "objects": [
                {"key": f"k{i}", "label": label, "bbox": dict(zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True))}
                for i, (label, box) in enumerate(boxes)
            ],
        }
        (root / "annotations" / f"{image_id}.json").write_text(json.dumps(record))
    (root / "splits" / "train.txt").write_text("img_a\nimg_b\nimg_pano\n")
    (root / "splits" / "val.txt").write_text("img_c\n")


def test_crop_mtsd_then_read_it_through_the_registry(tmp_path: Path) -> None:
    _mtsd_download(tmp_path / "download")
    written = crop_mtsd(str(tmp_path / "download"), str(tmp_path / "root" / "mtsd"))
    assert written == {"train": 3, "val": 1}  # other-sign and the panorama are dropped
    crop = Image.open(tmp_path / "root" / "mtsd" / "train" / "curve-left" / "img_b__k0.jpg")
    assert crop.size == (10, 7)
    source = build_source("mtsd", str(tmp_path / "root"), options={"allow_missing_classes": True})
    assert source.classnames == ["curve left", "stop"]
    assert source.labels("train") == [0, 1, 1] and source.labels("test") == [1]
    assert source.templates[0] == 'a zoomed in photo of a "{}" traffic sign.'
