"""Tokenising world text, and the token ids a world checkpoint must keep."""

from __future__ import annotations

from collections.abc import Iterable

import open_clip
import torch

from paint_lightning.world.attributes import DIGIT_WORDS
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


def tokenizer(context_length: int) -> open_clip.SimpleTokenizer:
    """open_clip's BPE tokenizer with the given context length (no download needed)."""
    return open_clip.SimpleTokenizer(context_length=context_length)


def world_prompts() -> list[str]:
    """Every class name of every world task filled into its task's templates."""
    tasks = [
        (SHAPE_TEMPLATES, WorldShapes().classnames),
        (COLOUR_TEMPLATES, WorldColours().classnames),
        (COUNT_TEMPLATES, WorldCounts().classnames),
        (DIGIT_TEMPLATES, HandwrittenDigits().classnames),
        (DIGIT_TEMPLATES, list(DIGIT_WORDS)),
    ]
    return [template.format(name) for templates, names in tasks for template in templates for name in names]


def token_ids(texts: Iterable[str], context_length: int) -> set[int]:
    """The set of token ids (SOT and EOT included) that ``texts`` tokenise to."""
    tokens = tokenizer(context_length)(list(texts))
    return set(torch.unique(tokens).tolist()) - {0}  # 0 is padding
