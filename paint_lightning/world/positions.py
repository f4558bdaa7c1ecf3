"""A second patch task of the offline world: where a small object sits.

Captions of the pretraining world name a position ("a red star on the left") only for single
small objects, and then only half the time, so the world CLIP barely knows positions zero-shot
(near chance), while fine-tuning learns them quickly: the world's analogue of a task like KITTI
distance for CLIP. Class names are the caption phrases, so every word is in the world's vocabulary.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from typing_extensions import override

from paint_lightning.world.attributes import POSITIONS
from paint_lightning.world.scenes import Scene, sample_objects
from paint_lightning.world.sources import _WorldTask

POSITION_TEMPLATES: list[str] = ["a shape {}.", "an object {}.", "a photo of a shape {}."]


class WorldPositions(_WorldTask):
    """Where one small object of random shape and colour is: left, right, top, bottom or middle.

    Class names are the caption phrases ("on the left", "at the top", "in the middle", ...).

    Args:
        train_size: Images in the train split.
        test_size: Images in the test split.
        seed: Seed of the images.
    """

    stream = 5
    templates = POSITION_TEMPLATES  # used when the task gives none

    @property
    @override
    def classnames(self) -> list[str]:
        return list(POSITIONS.values())

    @override
    def scene(self, label: int, rng: np.random.Generator) -> Scene:
        scene = sample_objects(rng, count=1)
        return replace(scene, size="small", position=list(POSITIONS)[label])
