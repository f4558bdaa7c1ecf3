"""What the commands without a Trainer leave behind: TensorBoard files, the exported model.

The same files as a ``paint fit`` run: ``paint_report.json`` (same keys:
:func:`~paint_lightning.engine.record.run_report` written by
:func:`~paint_lightning.io.report_file.write_report`), TensorBoard events
(figures, the sweep table, the custom-scalars page, HParams with the final metrics) and
``patched.safetensors`` + ``patched.json`` + ``open_clip_config.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import Tensor

from paint_lightning.callbacks import tensorboard
from paint_lightning.engine.mixed_state import state_at_mix
from paint_lightning.interpolation.mix import Mix
from paint_lightning.models.module import PaintModule
from paint_lightning.models.patched_model import write_patched_model


def next_directory(root: str | Path, prefix: str) -> Path:
    """``root/<prefix>_N`` with the first N not taken (created)."""
    base = Path(root).expanduser()
    index = 0
    while (base / f"{prefix}_{index}").exists():
        index += 1
    path = base / f"{prefix}_{index}"
    path.mkdir(parents=True)
    return path


def write_tensorboard(directory: Path, record: Mapping[str, Any], content: Mapping[str, Any], params: dict) -> None:
    """The sweep's figures and tables, the Custom Scalars page, the final curves and the HParams row."""
    from lightning.pytorch.loggers import TensorBoardLogger

    logger = TensorBoardLogger(save_dir=str(directory), name="", version="", default_hp_metric=False)
    roles = {name: task["role"] for name, task in record["tasks"].items()}
    tensorboard.start_run(logger, roles, params, layout=True, hparams=True)
    logger.experiment.add_scalar("paint/alpha_star", float(record["selected_alpha"]), 0)  # the HParams alpha*
    tensorboard.log_sweep(logger, record)
    tensorboard.log_final(logger, record, content, 0)
    logger.experiment.close()


def export_model(
    module: PaintModule,
    mix: Mix,
    directory: Path,
    metadata: Mapping[str, Any],
    ends: Sequence[Mapping[str, Tensor]] | None = None,
) -> Path:
    """Writes the model at ``mix`` (:func:`~paint_lightning.models.patched_model.write_patched_model`).

    ``ends`` are the end points when they are not the model's live weights (``paint parallel``).
    """
    meta = {"mix": mix.to_json(), **metadata}
    if mix.is_scalar:
        meta.setdefault("alpha", mix.alpha)
    state = state_at_mix(module, mix, ends, wanted=module.exported_key, copy_unchanged=False)  # written at once
    exported = module.export_open_clip(state)
    return write_patched_model(module, exported, directory, meta)


def task_metadata(
    module: PaintModule, record: Mapping[str, Any] | None, test: Mapping[str, Any] | None, index: int | None
) -> dict[str, Any]:
    """Per task: role, class names, templates, held-out accuracies (when swept) and test accuracies."""
    out = {}
    for spec in module.task_specs:
        entry: dict[str, Any] = {"role": spec.role, "classnames": spec.classnames, "templates": spec.templates}
        task = (record or {}).get("tasks", {}).get(spec.name)
        if task is not None and index is not None:
            entry["heldout_accuracy"] = {
                "zero_shot": task["zero_shot"],
                "fine_tuned": task["fine_tuned"],
                "patched": task["accuracy"][index],
            }
        entry["test_accuracy"] = (test or {}).get("tasks", {}).get(spec.name)
        out[spec.name] = entry
    return out
