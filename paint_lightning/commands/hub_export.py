"""``paint export --format hub``: the folder a Hugging Face model repository holds.

Files: ``open_clip_config.json`` and ``open_clip_model.safetensors`` (the names open_clip's
``hf-hub:`` loading reads, so ``open_clip.create_model_and_transforms("hf-hub:org/name")`` loads
it, and ``local-dir:`` finds the weights without "Multiple checkpoints found"), ``README.md`` (the
model card, :mod:`~paint_lightning.commands.model_card`), ``accuracy_vs_alpha.png``,
``patched.json`` (provenance and the weights' SHA-256) and the run's ``paint_report.json``.

The folder is written under a temporary name beside it and renamed into place, so a crash never
leaves a folder that looks complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paint_lightning.commands.model_card import FIGURE, model_card
from paint_lightning.commands.results import export_model
from paint_lightning.interpolation.mix import Mix
from paint_lightning.io.files import write_json, write_text
from paint_lightning.io.patched import METADATA, WEIGHTS
from paint_lightning.io.report_file import write_report
from paint_lightning.models.hub import HUB_WEIGHTS
from paint_lightning.models.run_loading import LoadedRun

HUB_MODEL = HUB_WEIGHTS[0]  # open_clip_model.safetensors
CARD = "README.md"
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def check_repo_id(repo: str | None) -> None:
    """Refuses a ``--repo`` that is not ``org/name``."""
    if repo is not None and not REPO_ID.match(repo):
        raise ValueError(f"--repo={repo!r}: give the repository as org/name (e.g. my-org/clip-patched).")


def check_hub_out(out: Path, overwrite: bool) -> None:
    """Refuses a hub folder that exists (without ``--overwrite``) or is not a folder."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out={str(out)!r} is a file; a hub export is a folder.")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"--out={str(out)!r} is not empty; choose another folder or add --overwrite to replace it.")


def write_hub_folder(
    loaded: LoadedRun,
    mix: Mix,
    out: Path,
    meta: Mapping[str, Any],
    repo: str | None = None,
    licence: str | None = None,
) -> Path:
    """Writes the hub folder of ``loaded`` at ``mix`` into ``out`` (replacing it); returns the weights path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        export_model(loaded.module, mix, tmp, {**meta, "format": "hub"})
        os.replace(tmp / WEIGHTS, tmp / HUB_MODEL)
        patched = json.loads((tmp / METADATA).read_text(encoding="utf-8"))
        patched["weights"] = HUB_MODEL  # same bytes, same SHA-256: only the name open_clip looks for
        write_json(tmp / METADATA, patched)
        figure = False
        if loaded.report is not None:
            write_report(tmp, loaded.report)
            figure = _write_figure(loaded.report, tmp / FIGURE)
        data = {"provenance": loaded.provenance, "sources": run_sources(loaded.checkpoint)}
        write_text(tmp / CARD, model_card(patched, loaded.report, data, repo, licence, figure))
        _replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / HUB_MODEL


def _replace_folder(tmp: Path, out: Path) -> None:
    """Moves ``tmp`` onto ``out``; an old ``out`` is moved aside first and removed after."""
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    if not out.exists():
        os.rename(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
    os.rename(out, old / out.name)
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_figure(report: Mapping[str, Any], path: Path) -> bool:
    """The held-out accuracy-vs-alpha figure of the run's final sweep, as a PNG."""
    from paint_lightning.callbacks.sweep_figures import curves_figure

    fig = curves_figure(report)
    try:
        fig.savefig(path, format="png")
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return True


def run_sources(checkpoint: Path) -> dict[str, Any]:
    """Each task's data source as the run's ``config.yaml`` gives it (``{}`` when there is none)."""
    import yaml

    config = checkpoint.parent.parent / "config.yaml"
    if not config.is_file():
        return {}
    try:
        data = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("data") or {}
    except (OSError, yaml.YAMLError):
        return {}
    return {
        entry["name"]: entry.get("source")
        for role in ("patch", "support", "transfer")
        for entry in data.get(role) or []
        if isinstance(entry, dict) and "name" in entry
    }
