"""Writing a patched model: one function for every path that puts a model at a mix on disk.

The sweep callback, ``paint export``, ``paint sweep`` and ``paint parallel`` all call
:func:`write_patched_model`. The file format belongs to :mod:`paint_lightning.io.patched`; this
function adds what the model knows about itself (its open_clip source) to the caller's metadata.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paint_lightning.engine.protocol import OpenCLIPExport
from paint_lightning.io.patched import export_patched


def write_patched_model(
    model: Any, exported: OpenCLIPExport, directory: str | os.PathLike[str], metadata: Mapping[str, Any]
) -> Path:
    """Writes ``exported`` (the model's weights at a mix) as a patched open_clip model into ``directory``.

    Args:
        model: The model the weights come from (a
            :class:`~paint_lightning.engine.protocol.Patchable`); its ``hparams["clip"]`` (the
            open_clip source, empty for models without one) is recorded as ``model``.
        exported: The open_clip weights and configs (``model.export_open_clip(state)``).
        directory: Where ``patched.safetensors``, ``patched.json`` and ``open_clip_config.json`` go.
        metadata: What else ``patched.json`` records (mix, criterion, tasks, ...), after ``model``.

    Returns:
        The path of the weights file.
    """
    meta = {"model": dict(getattr(model, "hparams", {}).get("clip", {})), **metadata}
    return export_patched(exported.state_dict, directory, meta, exported.model_cfg, exported.preprocess_cfg)
