"""A run's files: which Lightning checkpoint is its latest, read weights-only, the data and the mix it records.

A checkpoint is a file, or a folder of a distributed checkpoint (``ModelParallelStrategy``'s
default, :mod:`~paint_lightning.models.distributed_checkpoint`); both read into the same dict.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from paint_lightning.interpolation.mix import Mix
from paint_lightning.models.distributed_checkpoint import is_distributed_checkpoint, read_distributed_checkpoint

_STEP = re.compile(r"step=(\d+)")


def find_checkpoint(run: str | Path, field: str = "--run") -> Path:
    """The Lightning checkpoint of a run directory (or ``run`` itself when it is a checkpoint).

    A checkpoint is a file or a distributed checkpoint's folder (``epoch=1-step=2.ckpt/``).
    ``last.ckpt`` wins, else the checkpoint with the highest ``step=`` in its name, else the newest.

    Raises:
        FileNotFoundError: When there is no such file or no checkpoint in the directory.
    """
    path = Path(run).expanduser()
    if path.is_file() or is_distributed_checkpoint(path):
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"{field}={str(run)!r}: no such run directory or checkpoint file.")
    found = sorted(path.glob("checkpoints/*.ckpt")) or sorted(path.glob("*.ckpt"))
    if not found:
        raise FileNotFoundError(
            f"{field}={str(run)!r} holds no Lightning checkpoint (checkpoints/*.ckpt): give the version_N folder of a "
            "`paint fit` run or a .ckpt file; for an exported patched.safetensors use --clip.pretrained instead."
        )
    last = [p for p in found if p.name == "last.ckpt"]
    if last:
        return last[0]

    def key(p: Path) -> tuple[int, float]:
        match = _STEP.search(p.name)
        return (int(match.group(1)) if match else -1, p.stat().st_mtime)

    return max(found, key=key)


def read_checkpoint(path: Path, field: str = "--run") -> dict[str, Any]:
    """A Lightning checkpoint read with ``weights_only=True``, with a clear error when it cannot be.

    A distributed checkpoint's folder is read into the same dict (full ``state_dict`` and
    ``meta.pt``'s entries; :func:`~paint_lightning.models.distributed_checkpoint.read_distributed_checkpoint`).
    """
    try:
        if path.is_dir():  # an incomplete one (no .metadata) is named as such
            checkpoint = read_distributed_checkpoint(path, field)
        else:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{field}: cannot read {path} as a Lightning checkpoint ({first}); is it damaged?") from err
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "hyper_parameters" not in checkpoint:
        raise ValueError(
            f"{field}: {path} is not a checkpoint of a `paint fit` run (no state_dict and hyper_parameters); for an "
            "open_clip file use --clip.pretrained (and --clip.name or --clip.config)."
        )
    return checkpoint


def recorded_provenance(checkpoint: Mapping[str, Any]) -> dict[str, Any] | None:
    """The data provenance a Lightning checkpoint's DataModule state records (split settings, fingerprints)."""
    for value in checkpoint.values():  # saved under the DataModule's class name
        if isinstance(value, Mapping) and isinstance(value.get("provenance"), Mapping):
            return dict(value["provenance"])
    return None


def selected_mix(report: Mapping[str, Any] | None, checkpoint: Mapping[str, Any] | None = None) -> Mix | None:
    """The mix a run chose: ``selected_mix`` or ``selected_alpha`` of its report, else of its checkpoint.

    The report (``paint_report.json``) wins; the checkpoint's latest sweep record
    (``callbacks.InterpolationSweep.history``) is the fallback. ``None`` when the run never swept,
    or when its latest sweep is a partial one (an intermediate live sweep of a fit that did not
    finish: a view of the curves, not the run's choice).
    """
    records: list[Mapping[str, Any]] = [report] if report else []
    history = (checkpoint or {}).get("callbacks", {}).get("InterpolationSweep", {}).get("history") or []
    if history:
        records.append(history[-1])
    if any(record.get("partial") for record in records):
        return None
    for record in records:
        if record.get("selected_mix") is not None:
            return Mix.parse(record["selected_mix"])
        if record.get("selected_alpha") is not None:
            return Mix.of(float(record["selected_alpha"]))
    return None
