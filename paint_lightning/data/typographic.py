"""Typographic attacks: text written onto images, to build attacked evaluation sets and typographic training sets.

CLIP reads: an apple with the word "iPod" written on it is classified as an iPod (Goh et al.,
2021). PAINT patches that (Ilharco et al., 2022, section 6): fine-tune on images with a wrong
class name written on them, labelled with their true class, and interpolate. Here:

* :class:`TypographicAttack` writes a text onto a PIL image with a seeded font size, colour,
  position and opacity, using Pillow's bundled font (or a font file a package ships): nothing is
  downloaded;
* :class:`TypographicSource` wraps any :class:`~paint_lightning.data.sources.ImageSource` so that
  every split is attacked: by default each image gets the name of another class of its task,
  chosen by the seed. The same seed gives the same images on every run.

.. code-block:: yaml

    data:
      patch:   # typographic training set, true labels
        - name: shapes_typo
          source:
            class_path: paint_lightning.data.typographic.TypographicSource
            init_args: {source: {class_path: paint_lightning.world.WorldShapes}, seed: 1}
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from torch.utils.data import Dataset

from paint_lightning.data.classsplit import inline_description
from paint_lightning.data.sources import ImageSource, Split, Transform, WrappedSource, fingerprint_json

_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


@lru_cache(maxsize=128)
def load_font(font: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font (``font=None``) or a TrueType/OpenType file, at ``size`` pixels."""
    if font is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(font, size)


def _check_range(name: str, value: Sequence[float], low: float, high: float) -> tuple[float, float]:
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ValueError(f"{name}={list(value)}: give [min, max] with {low:g} <= min <= max <= {high:g}.")
    return float(value[0]), float(value[1])


class TypographicAttack:
    """Writes a text onto an image, its look drawn from a random generator.

    Args:
        font_size: ``[min, max]`` height of the text as a fraction of the image's shorter side;
            a text wider than the image is made smaller until it fits (down to 6 px).
        opacity: ``[min, max]`` opacity of the text (1: opaque).
        colours: RGB colours to draw from (``[[255, 0, 0], ...]``); default: any colour.
        font: A TrueType/OpenType file (e.g. one a package ships); default Pillow's bundled font.
    """

    def __init__(
        self,
        font_size: Sequence[float] = (0.25, 0.45),
        opacity: Sequence[float] = (0.75, 1.0),
        colours: Sequence[Sequence[int]] | None = None,
        font: str | None = None,
    ) -> None:
        self.font_size = _check_range("font_size", font_size, 0.01, 1.0)
        self.opacity = _check_range("opacity", opacity, 0.0, 1.0)
        if colours is not None and (
            not colours or any(len(c) != 3 or not all(0 <= int(v) <= 255 for v in c) for c in colours)
        ):
            raise ValueError(f"colours={colours!r}: give a list of [r, g, b] triples with values 0-255.")
        self.colours = [tuple(int(v) for v in c) for c in colours] if colours is not None else None
        if font is not None and not os.path.isfile(os.path.expanduser(font)):
            raise ValueError(f"font={font!r}: file not found. Give a .ttf/.otf file, or leave font out (Pillow's).")
        self.font = os.path.expanduser(font) if font is not None else None

    def describe(self) -> dict[str, Any]:
        """The settings, for fingerprints and reports."""
        font = os.path.basename(self.font) if self.font else "pillow-default"
        return {"font_size": self.font_size, "opacity": self.opacity, "colours": self.colours, "font": font}

    def __call__(self, image: Image.Image, text: str, rng: np.random.Generator) -> Image.Image:
        """``image`` (RGB) with ``text`` written on it; the look comes from ``rng``."""
        image = image.convert("RGB")
        width, height = image.size
        scale = min(4, max(1, math.ceil(128 / min(width, height))))  # small images: draw large, shrink
        size = round(rng.uniform(*self.font_size) * min(width, height) * scale)
        colour = self.colours[int(rng.integers(len(self.colours)))] if self.colours else tuple(rng.integers(0, 256, 3))
        alpha = round(255 * rng.uniform(*self.opacity))
        canvas = (width * scale, height * scale)
        layer = Image.new("RGBA", canvas, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        size = max(size, 6 * scale)
        font = load_font(self.font, size)
        box = draw.textbbox((0, 0), text, font=font)
        while box[2] - box[0] > canvas[0] and size > 6 * scale:
            size = max(6 * scale, int(size * 0.85))
            font = load_font(self.font, size)
            box = draw.textbbox((0, 0), text, font=font)
        text_w, text_h = box[2] - box[0], box[3] - box[1]
        x = rng.uniform(0, max(0, canvas[0] - text_w)) - box[0]
        y = rng.uniform(0, max(0, canvas[1] - text_h)) - box[1]
        draw.text((x, y), text, font=font, fill=(*(int(c) for c in colour), alpha))
        if scale > 1:
            layer = layer.resize((width, height), Image.Resampling.BOX)
        return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


class TypographicSource(WrappedSource):
    """Every image of ``source`` with a text written on it; labels and class names unchanged.

    Args:
        source: The task's images.
        text: Write this text on every attacked image; default (``null``): a wrong class name,
            i.e. one of ``words`` other than the image's own class, chosen by the seed.
        words: What each class is written as (one per class, in label order); default the
            source's class names.
        fraction: Share of the images attacked (chosen by the seed); the others stay clean.
        font_size: See :class:`TypographicAttack`.
        opacity: See :class:`TypographicAttack`.
        colours: See :class:`TypographicAttack`.
        font: See :class:`TypographicAttack`.
        seed: Seed of which images are attacked, the text and its look; image ``i`` of a split
            is the same for the same seed.
    """

    def __init__(
        self,
        source: ImageSource,
        text: str | None = None,
        words: list[str] | None = None,
        fraction: float = 1.0,
        font_size: Sequence[float] = (0.25, 0.45),
        opacity: Sequence[float] = (0.75, 1.0),
        colours: list[list[int]] | None = None,
        font: str | None = None,
        seed: int = 0,
    ) -> None:
        if not isinstance(source, ImageSource):
            raise TypeError(f"source must be an ImageSource, got {type(source).__name__}")
        classes = list(source.classnames)
        if words is not None and len(words) != len(classes):
            raise ValueError(
                f"words has {len(words)} entries but the source has {len(classes)} classes: give one word per class, "
                "in label order (or leave words out to write the class names)."
            )
        if text is None and len(set(words if words is not None else classes)) < 2:
            raise ValueError("a wrong class name needs two different class words; give text: to write a fixed text.")
        if text is not None and not text.strip():
            raise ValueError("text is empty: give the text to write, or null to write a wrong class name.")
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction={fraction}: give the share of images to attack, in (0, 1].")
        self.source = source
        self.text = text
        self.words = list(words) if words is not None else classes
        self.fraction = float(fraction)
        self.attack = TypographicAttack(font_size, opacity, colours, font)
        self.seed = seed

    def labels(self, split: Split) -> list[int] | None:
        """The wrapped source's labels (writing text does not change them)."""
        return self.source.labels(split)

    def written(self, split: Split, index: int, label: int) -> str | None:
        """The text written on image ``index`` of ``split`` (of class ``label``), or ``None`` if clean."""
        return self._choose(split, index, label)[0]

    def _choose(self, split: Split, index: int, label: int) -> tuple[str | None, np.random.Generator]:
        rng = np.random.default_rng([self.seed, _SPLIT_CODES[split], index])
        if self.fraction < 1.0 and rng.random() >= self.fraction:
            return None, rng
        if self.text is not None:
            return self.text, rng
        others = [word for i, word in enumerate(self.words) if i != label and word != self.words[label]]
        return others[int(rng.integers(len(others)))], rng

    def attacked(self, split: Split, index: int, image: Image.Image, label: int) -> Image.Image:
        """Image ``index`` of ``split`` as this source serves it."""
        text, rng = self._choose(split, index, label)
        return image if text is None else self.attack(image, text, rng)

    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """The wrapped split, attacked image by image."""
        return _Attacked(self, split, self.source.dataset(split, None), transform)

    def describe(self) -> dict[str, Any]:
        """The wrapped source and the attack's settings."""
        return {
            "source": type(self).__name__,
            "attacked": inline_description(self.source),
            "text": self.text,
            "words": self.words,
            "fraction": self.fraction,
            "seed": self.seed,
            **self.attack.describe(),
        }

    def fingerprint(self, split: Split) -> str:
        """Changes with the wrapped split's fingerprint and with any setting of the attack."""
        return fingerprint_json({"describe": self.describe(), "inner": self.source.fingerprint(split)})


class _Attacked(Dataset):
    def __init__(self, source: TypographicSource, split: Split, clean: Dataset, transform: Transform | None) -> None:
        self.source = source
        self.split = split
        self.clean = clean
        self.transform = transform

    def __len__(self) -> int:
        return len(self.clean)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image, label = self.clean[index]
        image = self.source.attacked(self.split, index, image, int(label))
        return (self.transform(image) if self.transform else image), label
