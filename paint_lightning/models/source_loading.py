"""A model from one set of weights (zoo tag, open_clip file, an export), with heads, without a Trainer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from paint_lightning.models.clip_source import CLIPSource
from paint_lightning.models.module import PaintModule
from paint_lightning.models.preprocess_sidecar import recorded_preprocess, use_preprocess


def load_model(
    clip: CLIPSource | Mapping[str, Any],
    specs: Sequence[Any] = (),
    head_cache_dir: str | None = None,
    device: str | torch.device = "cpu",
) -> PaintModule:
    """A model from a source (zoo tag, open_clip file, export), with heads for ``specs``, in eval mode.

    Its start point is its own weights (alpha has no effect until another end point is given).
    An export's recorded preprocessing is used unless the source sets its own mean or std.

    Args:
        clip: The source, or its fields.
        specs: Tasks (:class:`~paint_lightning.data.tasks.TaskSpec`) to build zero-shot heads for.
        head_cache_dir: Cache of zero-shot heads (``None``: none).
        device: Where the model goes.
    """
    source = clip if isinstance(clip, CLIPSource) else CLIPSource(**dict(clip))
    module = PaintModule(source, head_cache_dir=head_cache_dir, tasks=[spec.to_dict() for spec in specs])
    recorded = (
        recorded_preprocess(source.pretrained) if source.image_mean is None and source.image_std is None else None
    )
    if recorded is not None:
        use_preprocess(module, recorded)
    module.configure_model()
    if specs:
        module.set_tasks(specs, device=device)
    return module.to(device).eval()
