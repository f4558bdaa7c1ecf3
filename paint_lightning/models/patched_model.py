"""Writing a patched model: one function for every path that puts a model at a mix on disk.

The sweep callback, ``paint export``, ``paint sweep`` and ``paint parallel`` all call
:func:`write_patched_model`. The file format belongs to :mod:`paint_lightning.io.patched`; this
function adds what the model knows about itself (its open_clip source) to the caller's metadata.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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
    weights = export_patched(exported.state_dict, directory, meta, exported.model_cfg, exported.preprocess_cfg)
    save_hf_tokenizer(getattr(model, "tokenizer", None), weights.parent)
    return weights


def save_hf_tokenizer(tokenizer: Any, directory: Path) -> None:
    """Writes a Hugging Face tokenizer's files beside an export (nothing for CLIP's own tokenizer).

    ``open_clip.get_tokenizer("local-dir:<dir>")`` reads a config's Hugging Face tokenizer
    (``text_cfg.hf_tokenizer_name``: SigLIP...) from the folder itself. Files are written into a
    temporary folder and renamed into place one by one.
    """
    save = getattr(tokenizer, "save_pretrained", None)
    if save is None:
        return
    staging = Path(tempfile.mkdtemp(prefix=".tokenizer-", dir=directory))
    try:
        save(str(staging))
        for file in staging.iterdir():
            if file.is_file():
                os.replace(file, directory / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
