"""Image towers as end points: read one from a run, checkpoint or state dict; load one into a model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from paint_lightning.engine.protocol import patch_tensors
from paint_lightning.io.clip_weights import CheckpointError, load_clip_state_dict
from paint_lightning.models.module import PaintModule
from paint_lightning.models.run_files import find_checkpoint, read_checkpoint, recorded_provenance


def tower_tensors_of(path: str | Path, field: str) -> tuple[dict[str, Tensor], dict[str, Any] | None]:
    """The image tower (name inside the tower -> tensor) of a checkpoint, run or state dict, and its provenance.

    Reads a run directory or Lightning checkpoint of a paint run (its fine-tuned tower, and the
    data it was made from: :func:`~paint_lightning.models.run_files.recorded_provenance`), an
    open_clip checkpoint (full CLIP state dict, ``visual.*``) or a state dict of the tower alone
    (no provenance: ``None``).

    Raises:
        ValueError: When the file cannot be read as weights (naming ``field``).
    """
    where = Path(path).expanduser()
    if where.is_dir() or where.suffix == ".ckpt":
        checkpoint = read_checkpoint(find_checkpoint(where, field), field)
        state = checkpoint["state_dict"]
        tower = {k[len("clip.visual.") :]: v for k, v in state.items() if k.startswith("clip.visual.")}
        return tower, recorded_provenance(checkpoint)
    try:
        state = load_clip_state_dict(where)
    except CheckpointError as err:
        raise ValueError(f"{field}={str(path)!r}: {err}") from err
    visual = {k[len("visual.") :]: v for k, v in state.items() if k.startswith("visual.")}
    return visual or state, None


def set_live_tower(module: PaintModule, tensors: Mapping[str, Tensor], field: str) -> None:
    """Loads ``tensors`` into the model's live image tower (its start point stays), checking names and shapes.

    Raises:
        ValueError: Naming the missing, unexpected and misshapen tensors.
    """
    live, _ = patch_tensors(module)
    missing = sorted(set(live) - set(tensors))
    unexpected = sorted(set(tensors) - set(live))
    shapes = [
        f"{k} {tuple(tensors[k].shape)} != {tuple(live[k].shape)}"
        for k in live
        if k in tensors and tensors[k].shape != live[k].shape
    ]
    if missing or unexpected or shapes:
        raise ValueError(
            f"{field}: its image tower does not match the model's architecture: missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}, shapes {shapes[:5]}. Check that it was fine-tuned from the same model as model.clip."
        )
    with torch.no_grad():
        for name, tensor in live.items():
            tensor.copy_(tensors[name].to(tensor.device, tensor.dtype))
