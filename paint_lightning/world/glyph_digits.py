"""Digit glyphs of the world's own renderer: a broad-transfer target for the handwritten-digits patch.

The paper patches CLIP on MNIST and watches SVHN (digits in another style, no shared images). The
world's analogue: patch on scikit-learn's scanned digits (grey ink on black), watch the digits the
world's renderer draws (pen strokes and Pillow's printed font, in colour on dark, light or grey
backgrounds), which share no image with the scans.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PIL import Image
from typing_extensions import override

from paint_lightning.data.sources import Split
from paint_lightning.world.attributes import BACKGROUNDS, DIGIT_NUMERALS
from paint_lightning.world.scenes import Scene, render_scene, sample_digit
from paint_lightning.world.sets import _SPLIT_CODES, DIGIT_TEMPLATES, _WorldTask

STYLES = ("handwritten", "printed")


class GlyphDigits(_WorldTask):
    """Digits drawn by the world's renderer, labelled "0".."9".

    Args:
        train_size: Images in the train split.
        test_size: Images in the test split.
        seed: Seed of the images.
        style: ``handwritten`` (pen strokes), ``printed`` (Pillow's font) or ``null`` (either).
        background: ``dark``, ``light``, ``grey`` or ``null`` (any; the ink colour contrasts with it).
        lowres_prob: Chance that a glyph is degraded to 8-14 px and blown up again.
    """

    stream = 6
    templates = DIGIT_TEMPLATES  # used when the task gives none

    def __init__(
        self,
        train_size: int = 3000,
        test_size: int = 1000,
        seed: int = 0,
        style: str | None = None,
        background: str | None = None,
        lowres_prob: float = 0.0,
    ) -> None:
        super().__init__(train_size, test_size, seed)
        if style not in (None, *STYLES):
            raise ValueError(f"style must be one of {list(STYLES)} or null (either), got {style!r}")
        if background not in (None, *BACKGROUNDS):
            raise ValueError(f"background must be one of {list(BACKGROUNDS)} or null (any), got {background!r}")
        if not 0.0 <= lowres_prob <= 1.0:
            raise ValueError(f"lowres_prob must be in [0, 1], got {lowres_prob}")
        self.style = style
        self.background = background
        self.lowres_prob = lowres_prob

    @property
    @override
    def classnames(self) -> list[str]:
        return list(DIGIT_NUMERALS)

    @override
    def scene(self, label: int, rng: np.random.Generator) -> Scene:
        scene = sample_digit(rng, digit=label)
        if self.style is not None:
            scene = replace(scene, style=self.style)
        if self.background is not None and scene.background != self.background:
            ink = {"dark": "white", "light": "blue", "grey": "yellow"}[self.background]
            scene = replace(scene, background=self.background, colour=ink)
        return scene

    @override
    def render(self, split: Split, index: int) -> tuple[Image.Image, int]:
        rng = np.random.default_rng([self.seed, self.stream, _SPLIT_CODES[split], index])
        label = index % len(self.classnames)
        return render_scene(self.scene(label, rng), rng, self.lowres_prob), label

    @override
    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "style": self.style,
            "background": self.background,
            "lowres_prob": self.lowres_prob,
        }
