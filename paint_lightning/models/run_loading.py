"""A ``paint fit`` run as a model without a Trainer: its fine-tuned tower, start point, heads and chosen mix.

A **run** is a ``lightning_logs/version_N`` folder or one of its Lightning checkpoints; which
checkpoint is read, and how, is :mod:`~paint_lightning.models.run_files`'s job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from paint_lightning.interpolation.mix import Mix
from paint_lightning.io.report_file import REPORT
from paint_lightning.models.module import PaintModule
from paint_lightning.models.run_files import find_checkpoint, read_checkpoint, recorded_provenance, selected_mix


@dataclass
class LoadedRun:
    """A paint run's model: live weights = fine-tuned, start point = zero-shot, heads of its tasks.

    Attributes:
        module: The model (a :class:`~paint_lightning.engine.protocol.Patchable`), in eval mode.
        checkpoint: The Lightning checkpoint it was read from.
        report: The run's ``paint_report.json`` (``None`` when there is none, or when it was
            written for another checkpoint of the run).
        selected: The mix the run's sweep chose (``None`` when it never swept).
        provenance: The data it was made from (:func:`~paint_lightning.models.run_files.recorded_provenance`),
            ``None`` if unrecorded.
    """

    module: PaintModule
    checkpoint: Path
    report: dict[str, Any] | None
    selected: Mix | None
    provenance: dict[str, Any] | None = None


def load_run(run: str | Path, device: str | torch.device = "cpu", field: str = "--run") -> LoadedRun:
    """Loads a run directory or a Lightning checkpoint of a paint run (see :class:`LoadedRun`).

    The model is rebuilt from the source recorded in the checkpoint (as ``paint test`` does), so
    that source (zoo weights in open_clip's cache, or the local file) must be reachable.

    Args:
        run: A ``version_N`` folder (its latest checkpoint is read) or a ``.ckpt`` file (or folder:
            a distributed checkpoint).
        device: Where the model goes.
        field: The flag that named ``run``, for error messages.

    Raises:
        FileNotFoundError: When ``run`` does not exist or holds no checkpoint.
        ValueError: When the checkpoint is damaged or is not a ``paint fit`` checkpoint (naming ``field``).
    """
    path = find_checkpoint(run, field)
    checkpoint = read_checkpoint(path, field)
    hparams = dict(checkpoint["hyper_parameters"])
    module = PaintModule(**hparams)
    module.on_load_checkpoint(checkpoint)
    module.configure_model()
    module.load_state_dict(checkpoint["state_dict"], strict=True)
    module.to(device).eval()
    given = Path(run).expanduser()  # a run folder, or a checkpoint (a file, or a folder: distributed)
    report_path = (given if given.is_dir() and given != path else path.parent.parent) / REPORT
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else None
    if report is not None and report.get("global_step") != checkpoint.get("global_step"):
        report = None  # the run's report describes another checkpoint (a later one)
    return LoadedRun(module, path, report, selected_mix(report, checkpoint), recorded_provenance(checkpoint))
