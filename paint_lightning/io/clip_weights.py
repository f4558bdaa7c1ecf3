"""Reading and writing CLIP weights without unpickling anything.

Three on-disk forms are read: safetensors state dicts, torch state dicts (``weights_only=True``)
and the *compact* form used for the project's own small checkpoints: float tensors in fp16 and
only the token-embedding rows that the training vocabulary used (the rest are rebuilt as zeros).
A compact file carries its open_clip model config in the safetensors metadata, so it describes
itself.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from paint_lightning.io.files import save_safetensors

COMPACT_FORMAT = "paint-compact-clip/1"
EXPORT_FORMAT = "open_clip"  # metadata of exported patched models (paint_lightning.io.patched)
TOKEN_EMBEDDING = "token_embedding.weight"
_ROWS = TOKEN_EMBEDDING + ".rows"
_IDS = TOKEN_EMBEDDING + ".ids"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read as CLIP weights."""


def save_compact_clip(
    state_dict: dict[str, torch.Tensor],
    path: str | os.PathLike[str],
    model_cfg: dict[str, Any],
    keep_token_ids: Iterable[int],
    metadata: dict[str, str] | None = None,
) -> Path:
    """Writes a CLIP state dict in the compact form, atomically.

    Args:
        state_dict: open_clip ``CLIP`` state dict (fp32 or any float dtype).
        path: Destination ``.safetensors`` file.
        model_cfg: The open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``...).
        keep_token_ids: Token ids whose embedding rows are kept; all others load as zeros.
        metadata: Extra string metadata (recipe, seed, ...).
    """
    ids = torch.tensor(sorted(set(int(i) for i in keep_token_ids)), dtype=torch.int64)
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        value = value.detach().cpu()
        if key == TOKEN_EMBEDDING:
            tensors[_ROWS] = value[ids].to(torch.float16).contiguous()
            tensors[_IDS] = ids
            vocab_size = value.shape[0]
        elif value.is_floating_point():
            tensors[key] = value.to(torch.float16).contiguous()
        else:
            tensors[key] = value.contiguous()
    if _IDS not in tensors:
        raise CheckpointError(f"state dict has no {TOKEN_EMBEDDING!r}: is it an open_clip CLIP?")
    meta = {
        "format": COMPACT_FORMAT,
        "model_cfg": json.dumps(model_cfg, sort_keys=True),
        "vocab_size": str(vocab_size),
        **(metadata or {}),
    }
    return save_safetensors(tensors, path, meta)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a safetensors file (empty for other formats)."""
    if not str(path).endswith(".safetensors"):
        return {}
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read safetensors file {path}: {err}") from err


def stored_model_cfg(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The open_clip model config a checkpoint records about itself, or ``None``.

    Compact checkpoints and the project's exports (``format: open_clip``) carry it in their
    safetensors metadata; other files do not.
    """
    meta = read_metadata(path)
    if meta.get("format") not in (COMPACT_FORMAT, EXPORT_FORMAT) or "model_cfg" not in meta:
        return None
    return json.loads(meta["model_cfg"])


def load_clip_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Loads a CLIP state dict from safetensors (plain or compact) or a torch file, safely.

    Compact checkpoints come back in fp32 with the full token-embedding table rebuilt.
    Torch files are read with ``weights_only=True``; a ``state_dict`` entry and a DataParallel
    ``module.`` prefix are unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    if path.suffix == ".safetensors":
        meta = read_metadata(path)
        try:
            with safe_open(str(path), framework="pt") as handle:
                state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open is not a dict)
        except (SafetensorError, OSError) as err:
            raise CheckpointError(f"cannot read safetensors file {path}: {err}") from err
        if meta.get("format") == COMPACT_FORMAT:
            state = _expand_compact(state, int(meta["vocab_size"]))
        return state
    problem = _not_a_torch_file(path)
    if problem:
        raise CheckpointError(problem)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path} holds pickled Python objects (such as a whole module), which are never "
            "unpickled (weights-only loading); save a state dict instead, "
            "torch.save(model.state_dict(), path), or convert it to safetensors"
        ) from err
    except Exception as err:  # torch raises several types for damaged files
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise CheckpointError(
            f"cannot read {path} as a weights-only torch file ({type(err).__name__}: {first_line}); "
            "is it damaged or truncated?"
        ) from err
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    if loaded and all(key.startswith("module.") for key in loaded):
        loaded = {key[len("module.") :]: value for key, value in loaded.items()}
    return loaded


def _not_a_torch_file(path: Path) -> str | None:
    """Why ``path`` cannot be a ``torch.save`` file (a zip archive or a pickle), from its first bytes; else None."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(b"PK") or head.startswith(b"\x80"):
        return None
    if len(head) > 8 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < path.stat().st_size:
        return f"{path} looks like a safetensors file: give it the .safetensors suffix"
    if head.startswith(b"version https://git-lfs"):
        return f"{path} is a Git LFS pointer, not the weights: fetch them (git lfs pull) or download the file itself"
    if not head:
        return f"{path} is empty: not a weights file (safetensors, or a torch state dict saved with torch.save)"
    kind = "text" if all(32 <= b < 127 or b in (9, 10, 13) for b in head) else "no weights format read here"
    return (
        f"{path} is not a weights file that can be read: neither safetensors (a .safetensors file) nor a torch state "
        f"dict saved with torch.save (.pt, .pth, .bin); it begins with {head[:24]!r} ({kind})"
    )


def _expand_compact(state: dict[str, torch.Tensor], vocab_size: int) -> dict[str, torch.Tensor]:
    rows, ids = state.pop(_ROWS), state.pop(_IDS)
    table = torch.zeros(vocab_size, rows.shape[1], dtype=torch.float32)
    table[ids] = rows.float()
    out = {key: (value.float() if value.is_floating_point() else value) for key, value in state.items()}
    out[TOKEN_EMBEDDING] = table
    return out
