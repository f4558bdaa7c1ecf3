"""The offline world: captioned drawn images, a tiny CLIP pretrained on them, and their tasks.

The tasks are support tasks (shapes, colours, counts), the patching tasks (handwritten digits,
positions of objects) and a broad-transfer target (the renderer's digit glyphs).
"""

from paint_lightning.world.glyph_digits import GlyphDigits
from paint_lightning.world.positions import POSITION_TEMPLATES, WorldPositions
from paint_lightning.world.sets import (
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
    "POSITION_TEMPLATES",
    "SHAPE_TEMPLATES",
    "GlyphDigits",
    "HandwrittenDigits",
    "WorldColours",
    "WorldCounts",
    "WorldPositions",
    "WorldShapes",
]
