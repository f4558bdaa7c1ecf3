"""A second patch task of the offline world: where a small thing sits in the picture.

Captions of the pretraining world name a position ("a red star on the left") only for single
small objects, and then only half the time, so the world CLIP barely knows positions zero-shot
(near chance), while fine-tuning learns them quickly: the world's analogue of a task like KITTI
distance for CLIP. Class names are the caption phrases, so every word is in the world's vocabulary.
The thing placed is a shape by default; a printed digit or word (``content``) makes a
broad-transfer target: the same concept, on images that share nothing with the shapes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from typing_extensions import override

from paint_lightning.data.sources import Split
from paint_lightning.world.attributes import BACKGROUNDS, COLOURS, POSITIONS, PRINTED_WORDS
from paint_lightning.world.glyphs import draw_printed_text
from paint_lightning.world.scenes import (
    IMAGE_SIZE,
    Scene,
    _background_rgb,
    _colour_for,
    _jitter,
    _pick,
    _place,
    render_scene,
    sample_objects,
)
from paint_lightning.world.sets import _SPLIT_CODES, _WorldTask

POSITION_TEMPLATES: list[str] = ["a shape {}.", "an object {}.", "a photo of a shape {}."]
CONTENTS = ("shape", "digit", "word")
_SUPERSAMPLE = 4
SHORT_WORDS: tuple[str, ...] = tuple(word for word in PRINTED_WORDS if len(word) <= 4)  # room to move sideways


class WorldPositions(_WorldTask):
    """Where one small thing of random look is: left, right, top, bottom or middle.

    Class names are the caption phrases ("on the left", "at the top", "in the middle", ...).

    Args:
        train_size: Images in the train split.
        test_size: Images in the test split.
        seed: Seed of the images.
        content: What is placed: a ``shape`` (one small object, as in the world's scenes), a
            printed ``digit`` or a short printed ``word`` (Pillow's font, 9-11 px).
    """

    stream = 5
    templates = POSITION_TEMPLATES  # used when the task gives none

    def __init__(self, train_size: int = 3000, test_size: int = 1000, seed: int = 0, content: str = "shape") -> None:
        super().__init__(train_size, test_size, seed)
        if content not in CONTENTS:
            raise ValueError(f"content must be one of {list(CONTENTS)}, got {content!r}")
        self.content = content

    @property
    @override
    def classnames(self) -> list[str]:
        return list(POSITIONS.values())

    @override
    def scene(self, label: int, rng: np.random.Generator) -> Scene:
        scene = sample_objects(rng, count=1)
        return replace(scene, size="small", position=list(POSITIONS)[label])

    @override
    def render(self, split: Split, index: int) -> tuple[Image.Image, int]:
        rng = np.random.default_rng([self.seed, self.stream, _SPLIT_CODES[split], index])
        label = index % len(self.classnames)
        if self.content == "shape":
            return render_scene(self.scene(label, rng), rng), label
        background = _pick(rng, BACKGROUNDS)
        ink = _jitter(COLOURS[_colour_for(background, rng)], rng, 14)
        text = str(int(rng.integers(10))) if self.content == "digit" else _pick(rng, SHORT_WORDS)
        size = rng.uniform(9, 11)
        half_width = size * (0.3 if self.content == "digit" else 0.28 * len(text))
        (cx, cy) = _place(rng, [max(half_width, size / 2)], list(POSITIONS)[label])[0]
        s = _SUPERSAMPLE
        canvas = Image.new("RGB", (IMAGE_SIZE * s, IMAGE_SIZE * s), _background_rgb(background, rng))
        draw_printed_text(ImageDraw.Draw(canvas), text, (cx * s, cy * s), round(size * s), ink, bold=s // 2)
        return canvas.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX), label

    @override
    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "content": self.content}
