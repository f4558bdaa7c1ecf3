"""What a sweep leaves behind: logged scalars, TensorBoard figures, the report, the exported model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningModule, Trainer

from paint_lightning.callbacks.runtime import SweepRuntime
from paint_lightning.callbacks.tensorboard import log_to_tensorboard
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.record import at_alpha
from paint_lightning.export import export_patched
from paint_lightning.interpolation.mix import Mix
from paint_lightning.io import write_json


def log_sweep(
    trainer: Trainer,
    pl_module: LightningModule,
    record: Mapping[str, Any],
    loggable: bool,
    figures: bool,
    fit: bool,
) -> None:
    """Logs alpha*, its accuracies, the references, and (in ``fit``) the validation metrics.

    Every process logs the same values (they come from counts summed over all processes), so no
    synchronisation is needed and ``ModelCheckpoint``/``EarlyStopping`` can monitor them.
    """
    alpha = record["selected_alpha"]
    index = record["alphas"].index(alpha)
    scalars = {"paint/alpha_star": alpha, "paint/patched/patch_mean": record["patch_accuracy"][index]}
    if record["objective"][index] is not None:
        scalars["paint/objective"] = record["objective"][index]
    if record["support_accuracy"][index] is not None:
        scalars["paint/patched/support_mean"] = record["support_accuracy"][index]
    for name, acc in at_alpha(record, alpha).items():
        task = record["tasks"][name]
        scalars[f"paint/patched/{name}"] = acc
        scalars[f"paint/fine_tuned/{name}"] = task["fine_tuned"]
        scalars[f"paint/zero_shot/{name}"] = task["zero_shot"]
        if fit:  # the sweep replaces Lightning's validation loop during fit
            scalars[f"val/{name}/acc"] = task["fine_tuned"] / 100.0
            if task["fine_tuned_loss"] is not None:
                scalars[f"val/{name}/loss"] = task["fine_tuned_loss"]
    if loggable:
        for key, value in scalars.items():
            pl_module.log(key, float(value), prog_bar=key == "paint/alpha_star")
    elif trainer.logger is not None and trainer.is_global_zero:
        trainer.logger.log_metrics(scalars, step=trainer.global_step)
    if figures and trainer.is_global_zero:
        for logger in trainer.loggers:
            log_to_tensorboard(logger, dict(record))


def report(
    history: list[dict[str, Any]], zero_shot: Mapping[str, list[int]], test_result: dict[str, Any] | None
) -> dict[str, Any]:
    """The ``paint_report.json`` content: the latest sweep, alpha* per sweep, the test result."""
    latest = history[-1]
    counts = TaskCounts.from_json(dict(zero_shot))
    out = {
        **latest,
        "zero_shot": {name: counts.accuracy(name) for name in counts.correct},
        "fine_tuned": {name: task["fine_tuned"] for name, task in latest["tasks"].items()},
        "history": [
            {
                "epoch": r["epoch"],
                "global_step": r["global_step"],
                "selected_alpha": r["selected_alpha"],
                "patch_accuracy": r["patch_accuracy"][r["alphas"].index(r["selected_alpha"])],
                "support_accuracy": r["support_accuracy"][r["alphas"].index(r["selected_alpha"])],
            }
            for r in history
        ],
    }
    if test_result is not None:
        out["test"] = test_result
    return out


def write_report(
    path: Path, history: list[dict[str, Any]], zero_shot: Mapping[str, list[int]], test_result: dict[str, Any] | None
) -> None:
    """Writes :func:`report` to ``path`` atomically."""
    write_json(path, report(history, zero_shot, test_result))


def export_patched_model(
    runtime: SweepRuntime,
    record: Mapping[str, Any],
    zero_shot: Mapping[str, list[int]],
    test_result: dict[str, Any] | None,
    directory: Path,
) -> Path:
    """Exports the model at the record's alpha* into ``directory`` (collective; rank 0 writes).

    Returns:
        The path of the weights file.
    """
    alpha = record["selected_alpha"]
    runtime.synchronise()
    state = runtime.full_state(Mix.of(alpha))  # every process: a sharded model is gathered
    weights = directory / "patched.safetensors"
    if runtime.trainer.is_global_zero:
        index = record["alphas"].index(alpha)
        counts = TaskCounts.from_json(dict(zero_shot))
        model: Any = runtime.model
        meta = {
            "model": dict(getattr(model, "hparams", {}).get("clip", {})),
            "alpha": alpha,
            "criterion": record["criterion"],
            "epoch": record["epoch"],
            "global_step": record["global_step"],
            "tasks": {
                spec.name: {
                    "role": spec.role,
                    "classnames": spec.classnames,
                    "templates": spec.templates,
                    "heldout_accuracy": {
                        "zero_shot": counts.accuracy(spec.name),
                        "fine_tuned": record["tasks"][spec.name]["fine_tuned"],
                        "patched": record["tasks"][spec.name]["accuracy"][index],
                    },
                    "test_accuracy": (test_result or {}).get("tasks", {}).get(spec.name),
                }
                for spec in model.task_specs
            },
        }
        exported = model.export_open_clip(state)
        weights = export_patched(exported.state_dict, directory, meta, exported.model_cfg, exported.preprocess_cfg)
    runtime.trainer.strategy.barrier("paint-export")
    return weights
