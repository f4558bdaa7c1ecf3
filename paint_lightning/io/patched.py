"""The patched model on disk: an open_clip-loadable safetensors state dict plus JSON metadata.

Files written into a directory:

* ``patched.safetensors``: the full CLIP state dict (``open_clip.create_model(name,
  pretrained=path)`` loads it for zoo models);
* ``patched.json``: model name, pretrained source, model config, alpha*, tasks, accuracies and the
  SHA-256 of the safetensors file, checked by :func:`load_patched`;
* ``open_clip_config.json``: so ``open_clip.create_model("local-dir:<dir>")`` works too.

Each file is written under a temporary name and renamed, so a crash never leaves a file that
looks complete.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import torch

from paint_lightning.io.clip_weights import load_clip_state_dict
from paint_lightning.io.files import save_safetensors, sha256_file, write_json

WEIGHTS = "patched.safetensors"
METADATA = "patched.json"
OPEN_CLIP_CONFIG = "open_clip_config.json"


class IntegrityError(ValueError):
    """A weights file whose SHA-256 differs from the one its metadata records."""


def export_patched(
    state_dict: dict[str, torch.Tensor],
    directory: str | os.PathLike[str],
    metadata: dict[str, Any],
    model_cfg: dict[str, Any],
    preprocess_cfg: dict[str, Any],
) -> Path:
    """Writes the patched model and its metadata into ``directory``; returns the weights path.

    Args:
        state_dict: The full open_clip CLIP state dict (tensors are copied to the CPU).
        directory: Where ``patched.safetensors``, ``patched.json`` and ``open_clip_config.json``
            are written (created if missing; existing files are replaced atomically).
        metadata: JSON-serialisable facts to record (e.g. ``{"alpha": 0.5, "tasks": [...]}``).
        model_cfg: The open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``...).
        preprocess_cfg: The open_clip preprocessing config (``size``, ``mean``, ``std``...).

    Returns:
        The path of ``patched.safetensors``.

    Example:
        >>> state = interpolate(zs, ft, 0.5)  # doctest: +SKIP
        >>> export_patched(state, "out", {"alpha": 0.5}, cfg, {"size": 224})  # doctest: +SKIP
        PosixPath('out/patched.safetensors')
    """
    directory = Path(directory)
    weights = directory / WEIGHTS
    tensors = {key: value.detach().cpu().contiguous() for key, value in state_dict.items()}
    header = {"format": "open_clip", "model_cfg": json.dumps(model_cfg, sort_keys=True)}
    save_safetensors(tensors, weights, header)
    meta = {
        **metadata,
        "model_cfg": model_cfg,
        "preprocess_cfg": _jsonable(preprocess_cfg),
        "weights": WEIGHTS,
        "sha256": sha256_file(weights),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(directory / METADATA, meta)
    write_json(directory / OPEN_CLIP_CONFIG, {"model_cfg": model_cfg, "preprocess_cfg": _jsonable(preprocess_cfg)})
    return weights


def load_patched(path: str | os.PathLike[str], verify: bool = True) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Reads a patched model's state dict and metadata, checking the SHA-256 first.

    Args:
        path: The ``patched.safetensors`` file or its directory.
        verify: Check the file's SHA-256 against ``patched.json``.

    Raises:
        FileNotFoundError: When the weights or metadata are missing.
        IntegrityError: When the weights do not match the recorded SHA-256.
    """
    path = Path(path)
    weights = path / WEIGHTS if path.is_dir() else path
    meta_path = weights.with_suffix(".json")
    if not meta_path.is_file():
        raise FileNotFoundError(f"metadata {meta_path} not found beside {weights}")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if verify:
        actual = sha256_file(weights)
        if actual != meta.get("sha256"):
            raise IntegrityError(
                f"{weights} has SHA-256 {actual} but {meta_path.name} records {meta.get('sha256')}: "
                "the file was changed or truncated after export; re-export it."
            )
    return load_clip_state_dict(weights), meta


def load_patched_model(path: str | os.PathLike[str]) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Builds the open_clip model of a patched export (checked), in eval mode.

    Args:
        path: The ``patched.safetensors`` file or its directory (as written by :func:`export_patched`).

    Returns:
        The model (``open_clip.CLIP``, ``CustomTextCLIP`` or ``CoCa``, as the config says) and the metadata.

    Raises:
        FileNotFoundError: When the weights or metadata are missing.
        IntegrityError: When the weights do not match the recorded SHA-256.

    Example:
        >>> model, meta = load_patched_model("out")  # doctest: +SKIP
        >>> model.encode_image(images)  # doctest: +SKIP
    """
    from paint_lightning.io.config_model import model_from_config

    state, meta = load_patched(path)
    model = model_from_config(meta["model_cfg"], "patched.json model_cfg")
    model.load_state_dict(state, strict=True)
    return model.eval(), meta


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
