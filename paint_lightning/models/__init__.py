"""The model side: building CLIP, zero-shot heads, the LightningModule."""

from paint_lightning.models.module import PaintModule
from paint_lightning.models.source import CLIPSource, build_clip

__all__ = ["CLIPSource", "PaintModule", "build_clip"]
