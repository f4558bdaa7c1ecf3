"""What a sweep leaves behind: logged scalars, every logger's figures and tables, the exported model.

The report's content is :func:`paint_lightning.engine.record.run_report`, its file
:mod:`paint_lightning.io.report_file`; the model is written by
:func:`paint_lightning.models.patched_model.write_patched_model`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch import Tensor

from paint_lightning.callbacks.dashboard import log_sweep_record
from paint_lightning.callbacks.runtime import SweepRuntime
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.paired_record import required_size_line
from paint_lightning.engine.record import at_alpha, summary_line
from paint_lightning.engine.sweep_schedule import partial_text
from paint_lightning.interpolation.mix import Mix
from paint_lightning.io.patched import WEIGHTS
from paint_lightning.models.patched_model import write_patched_model


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
    if trainer.is_global_zero:
        for logger in trainer.loggers:
            log_sweep_record(logger, dict(record), figures)


def announce_sweep(record: Mapping[str, Any]) -> None:
    """The sweep on the console: its summary line; for a full sweep, the held-out size it needs and its warnings.

    A partial (live) sweep says so at the start of its line and warns of nothing: the last sweep,
    a full one, chooses alpha*.
    """
    rank_zero_info(f"Epoch {record['epoch']}: {partial_text(record)}{summary_line(record)}")
    if record.get("partial"):
        return
    if (needed := required_size_line(record)) is not None:
        rank_zero_info(needed)
    for warning in record["warnings"]:
        rank_zero_warn(f"Alpha* may not mean much: {warning}")


def log_per_block(trainer: Trainer, search: Mapping[str, Any]) -> None:
    """Logs the per-block search: its objective and alpha*'s, whether it won, the coefficients."""
    if trainer.logger is None or not trainer.is_global_zero:
        return
    scalars = {"paint/per_block/won": float(search["won"])}
    for key in ("best_objective", "global_objective"):
        if search[key] is not None:
            scalars[f"paint/per_block/{key}"] = search[key]
    for group, value in search["best"].items():
        scalars[f"paint/per_block/coefficient/{group}"] = value
    trainer.logger.log_metrics(scalars, step=trainer.global_step)


def export_selected_model(
    runtime: SweepRuntime,
    record: Mapping[str, Any],
    zero_shot: Mapping[str, list[int]],
    test_result: dict[str, Any] | None,
    directory: Path,
) -> Path:
    """Exports the model at the record's selected mix into ``directory`` (collective; rank 0 writes).

    The selected mix is alpha*, or the per-block mix when a per-block search won under its rule
    (``sweep.per_block.accept``). A sharded model is gathered tensor by tensor into rank 0's host
    memory. When rank 0 fails to write, every process ends (:func:`shared_outcome`): none is left
    waiting for it.

    Returns:
        The path of the weights file.
    """
    alpha = record["selected_alpha"]
    mix = Mix.from_json(record.get("selected_mix", alpha))
    with runtime.synchronised():  # the pooled BatchNorm statistics go into the export; training's stay
        state = runtime.full_state(mix)  # every process: a sharded model is gathered
    weights = directory / WEIGHTS
    failure: Exception | None = None
    if runtime.trainer.is_global_zero:
        try:
            weights = _write_export(runtime.model, record, mix, zero_shot, test_result, directory, state)
        except Exception as err:  # told to every process below, then raised here
            failure = err
    shared_outcome(runtime.trainer.strategy, failure, "the export")
    return weights


def shared_outcome(strategy: Any, failure: Exception | None, what: str) -> None:
    """Makes rank 0's outcome of ``what`` every process's: collective, in place of a barrier.

    Rank 0 broadcasts whether it failed. On failure it raises its own exception (the one line
    or the traceback the ``paint`` command prints); every other process leaves with exit status 1
    and prints nothing more (:class:`SystemExit`), so that no process waits for rank 0 in a later
    collective and the failure is reported once.

    Args:
        strategy: The trainer's strategy (its ``broadcast(obj, src=0)``; one process: returns ``obj``).
        failure: What rank 0 raised (``None``: it succeeded; ignored on other processes).
        what: What failed, for the other processes' exit.

    Raises:
        Exception: ``failure``, on rank 0.
        SystemExit: On the other processes, when rank 0 failed.
    """
    failed = strategy.broadcast(failure is not None, src=0)
    if failure is not None:
        raise failure
    if failed:
        raise SystemExit(1)


def _write_export(
    model: Any,
    record: Mapping[str, Any],
    mix: Mix,
    zero_shot: Mapping[str, list[int]],
    test_result: dict[str, Any] | None,
    directory: Path,
    state: dict[str, Tensor],
) -> Path:
    """Rank 0's part of :func:`export_selected_model`: the metadata and the three files."""
    alpha = record["selected_alpha"]
    index = record["alphas"].index(alpha)
    counts = TaskCounts.from_json(dict(zero_shot))
    search = record.get("per_block")
    per_block = search is not None and search["won"]
    test_rows = (test_result or {}).get("tasks", {})
    test_per_block = (test_result or {}).get("per_block", {}).get("tasks", {})
    meta = {
        "alpha": alpha,
        "selected_mix": mix.to_json(),
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
                    "patched": search["heldout"][spec.name]["per_block"]
                    if per_block
                    else record["tasks"][spec.name]["accuracy"][index],
                },
                "test_accuracy": _test_row(test_rows.get(spec.name), test_per_block.get(spec.name), per_block),
            }
            for spec in model.task_specs
        },
    }
    if search is not None:
        meta["per_block"] = {key: search[key] for key in ("search", "best", "won", "gain", "evaluations")}
        meta["per_block"]["accept"] = (search.get("accept") or {"rule": "gain"})["rule"]  # the rule that decided
    return write_patched_model(model, model.export_open_clip(state), directory, meta)


def _test_row(row: dict[str, Any] | None, per_block: dict[str, Any] | None, selected: bool) -> dict[str, Any] | None:
    """The test row of a task, its ``patched`` accuracy being the exported mix's."""
    if row is None or not selected or per_block is None:
        return row
    return {**row, "patched": per_block["per_block"], "global": per_block["global"]}
