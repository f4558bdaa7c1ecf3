"""Tiny fake copies of ImageNet's distribution shifts, in each release's own layout (imported by fakes.py).

Every class folder of the subset holds one tiny image (the loaders refuse incomplete copies), and the
first class one more; ObjectNet also gets classes ImageNet lacks (to be skipped) and a red border.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from paint_lightning.data.registry.imagenet_wnids import IMAGENET_A_INDICES, IMAGENET_R_INDICES, IMAGENET_WNIDS
from paint_lightning.data.registry.objectnet import OBJECTNET_TO_IMAGENET

_ENCODED: dict[str, bytes] = {}
# ObjectNet classes without an ImageNet counterpart (real folder names of the release).
OBJECTNET_ONLY = ("squeegee", "eyeglasses")


def bordered(size: int = 6, inner: int = 90) -> np.ndarray:
    """An image of grey ``inner`` framed by ObjectNet's 1-pixel red border."""
    pixels = np.full((size, size, 3), inner, np.uint8)
    pixels[0, :], pixels[-1, :], pixels[:, 0], pixels[:, -1] = (255, 0, 0), (255, 0, 0), (255, 0, 0), (255, 0, 0)
    return pixels


def _put(path: Path, fmt: str = "JPEG", pixels: np.ndarray | None = None) -> None:
    if fmt not in _ENCODED or pixels is not None:
        buffer = io.BytesIO()
        Image.fromarray(np.full((4, 4, 3), 90, np.uint8) if pixels is None else pixels).save(buffer, fmt)
        if pixels is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(buffer.getvalue())
            return
        _ENCODED[fmt] = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_ENCODED[fmt])


def _folders(base: Path, names: list[str], file: str, fmt: str = "JPEG") -> None:
    for name in names:
        _put(base / name / file, fmt)
    _put(base / names[0] / f"extra_{file}", fmt)


def fake_imagenet_v2(root: Path) -> None:
    _folders(root / "imagenetv2-matched-frequency-format-val", [str(i) for i in range(1000)], "7a1b.jpeg")


def fake_imagenet_sketch(root: Path) -> None:
    _folders(root / "sketch", list(IMAGENET_WNIDS), "sketch_1.JPEG")


def fake_imagenet_r(root: Path) -> None:
    _folders(root / "imagenet-r", [IMAGENET_WNIDS[i] for i in IMAGENET_R_INDICES], "art_0.jpg")


def fake_imagenet_a(root: Path) -> None:
    _folders(root / "imagenet-a", [IMAGENET_WNIDS[i] for i in IMAGENET_A_INDICES], "0.000116_adv.jpg")
    (root / "imagenet-a" / "README.txt").write_text("ImageNet-A\n")


def fake_objectnet(root: Path) -> None:
    base = root / "objectnet-1.0"
    for name in [*sorted(OBJECTNET_TO_IMAGENET), *OBJECTNET_ONLY]:
        _put(base / "images" / name / "0a1b2c.png", "PNG", bordered())
    _put(base / "images" / "alarm_clock" / "extra_0a1b2c.png", "PNG", bordered())
    (base / "mappings").mkdir(parents=True, exist_ok=True)
    (base / "mappings" / "objectnet_to_imagenet_1k.json").write_text('{"Alarm clock": "analog clock; digital clock"}')


SHIFT_FAKES: dict[str, Callable[[Path], None]] = {
    "imagenet_v2": fake_imagenet_v2,
    "imagenet_r": fake_imagenet_r,
    "imagenet_a": fake_imagenet_a,
    "imagenet_sketch": fake_imagenet_sketch,
    "objectnet": fake_objectnet,
}

# Items sort by path: the extra image of the first class comes first, then a class per folder (in label order
# for WordNet ids and ObjectNet's sorted folders; ImageNet-V2's folders 0..999 sort as text: 0, 1, 10, 100...).
SHIFT_EXPECTED: dict[str, dict[str, list[int] | int]] = {
    "imagenet_v2": {"test": [0, 0, *sorted(range(1, 1000), key=str)]},
    "imagenet_r": {"test": [0, *range(200)]},
    "imagenet_a": {"test": [0, *range(200)]},
    "imagenet_sketch": {"test": [0, *range(1000)]},
    "objectnet": {"test": [0, *range(113)]},
}
