"""The offline world: captioned drawn images, a tiny CLIP pretrained on them, and their tasks.

The tasks are support tasks (shapes, colours, counts) and the patching task, handwritten digits.
"""

from paint_lightning.world.sources import (
    COLOUR_TEMPLATES,
    COUNT_TEMPLATES,
    DIGIT_TEMPLATES,
    SHAPE_TEMPLATES,
    HandwrittenDigits,
    WorldColours,
    WorldCounts,
    WorldShapes,
)

__all__ = [
    "COLOUR_TEMPLATES",
    "COUNT_TEMPLATES",
    "DIGIT_TEMPLATES",
    "SHAPE_TEMPLATES",
    "HandwrittenDigits",
    "WorldColours",
    "WorldCounts",
    "WorldShapes",
]
