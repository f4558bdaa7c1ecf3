"""The preprocessing an exported model records beside its weights, and giving it to a model."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paint_lightning.models.module import PaintModule


def recorded_preprocess(pretrained: str | None) -> dict[str, Any] | None:
    """The preprocessing an export records beside its weights (``patched.json``, ``open_clip_config.json``).

    Args:
        pretrained: A weights file (any other source, or no file: ``None``).

    Returns:
        The ``preprocess_cfg`` of the first side-car file that has one, else ``None``.
    """
    if not pretrained or not Path(pretrained).expanduser().is_file():
        return None
    weights = Path(pretrained).expanduser()
    for meta in (weights.with_suffix(".json"), weights.parent / "open_clip_config.json"):
        if meta.is_file():
            try:
                cfg = json.loads(meta.read_text(encoding="utf-8")).get("preprocess_cfg")
            except (ValueError, AttributeError):
                continue
            if isinstance(cfg, dict):
                return cfg
    return None


def use_preprocess(module: PaintModule, preprocess_cfg: Mapping[str, Any]) -> None:
    """Gives the model the transforms of ``preprocess_cfg`` (its open_clip ``PreprocessCfg`` fields)."""
    from open_clip.transform import PreprocessCfg, image_transform_v2

    fields = set(PreprocessCfg.__dataclass_fields__)
    cfg = {k: (tuple(v) if isinstance(v, list) else v) for k, v in preprocess_cfg.items() if k in fields}
    module.preprocess_cfg = {**module.preprocess_cfg, **cfg}
    module.preprocess_train = image_transform_v2(PreprocessCfg(**module.preprocess_cfg), True)
    module.preprocess_eval = image_transform_v2(PreprocessCfg(**module.preprocess_cfg), False)
