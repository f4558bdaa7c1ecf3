"""The model side: building CLIP, zero-shot heads, the LightningModule."""

from paint_lightning.models.clip_source import CLIPSource, build_clip
from paint_lightning.models.module import PaintModule

__all__ = ["CLIPSource", "PaintModule", "build_clip"]
