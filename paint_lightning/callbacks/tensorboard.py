"""The run in TensorBoard: one run (sub-folder) per line, so that TensorBoard colours them apart.

TensorBoard colours a chart's lines by run and draws no legend; its run list is the legend. So
every series a chart compares is its own run under the logger's (``version_0/lines/<run>``), with
the same tag in each:

* ``zero_shot``, ``fine_tuned``, ``patched``: ``task/<name>``, each task's held-out accuracy of
  the three models over training (one point per sweep);
* ``heldout_patch``, ``heldout_support`` (per sweep) and ``test_patch``, ``test_support`` (once,
  at the end): ``mean_accuracy_at_alpha_star``;
* ``curve_<task>``, ``curve_patch_mean``, ``curve_support_mean``: the final sweep's
  ``final_sweep/task_accuracy`` and ``final_sweep/mean_accuracy`` (step = round(alpha x 100)).

The logger's own run holds Lightning's scalars (``paint/...``, ``train/...``), the figures
(Images; :mod:`~paint_lightning.callbacks.sweep_figures`), the sweep and final tables (Text),
the Custom Scalars layout and the HParams row (its metric columns are the last values of the
series above: no one-point chart is written for them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from paint_lightning.callbacks.sweep_content import (
    clean_params,
    curve_series,
    final_markdown,
    final_table,
    sweep_markdown,
)
from paint_lightning.callbacks.sweep_figures import curves_figure, has_tradeoff, tradeoff_figure

CURVE = "final_sweep"  # tags of the final sweep's curves: step = round(alpha * 100)
MEAN = "mean_accuracy_at_alpha_star"
LINES = "lines"  # the comparison runs: <logger's run>/lines/<name>
# The HParams tab's metric columns: (run relative to the logger's, tag, column title).
HPARAM_METRICS = [
    ("", "paint/alpha_star", "alpha*"),
    (f"{LINES}/heldout_patch", MEAN, "held-out patch %"),
    (f"{LINES}/heldout_support", MEAN, "held-out support %"),
    (f"{LINES}/test_patch", MEAN, "test patch % (patched)"),
    (f"{LINES}/test_support", MEAN, "test support % (patched)"),
]


def run_writer(log_dir: str, run: str) -> Any:
    """A writer of the run ``log_dir/lines/run`` (close it after use)."""
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=os.path.join(log_dir, LINES, run))


def write_runs(log_dir: str, points: Mapping[str, Mapping[str, list[tuple[int, float]]]]) -> None:
    """Writes ``{run: {tag: [(step, value), ...]}}`` as scalars of the runs under ``log_dir``."""
    for run, tags in points.items():
        writer = run_writer(log_dir, run)
        for tag, values in tags.items():
            for step, value in values:
                writer.add_scalar(tag, float(value), step)
        writer.close()


def sweep_runs(record: Mapping[str, Any], step: int) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """A sweep's points: each task's zero-shot, fine-tuned and patched accuracy; the means at alpha*."""
    index = record["alphas"].index(record["selected_alpha"])
    runs: dict[str, dict[str, list[tuple[int, float]]]] = {"zero_shot": {}, "fine_tuned": {}, "patched": {}}
    for name, task in record["tasks"].items():
        runs["zero_shot"][f"task/{name}"] = [(step, task["zero_shot"])]
        runs["fine_tuned"][f"task/{name}"] = [(step, task["fine_tuned"])]
        runs["patched"][f"task/{name}"] = [(step, task["accuracy"][index])]
    for role in ("patch", "support"):
        if (value := record[f"{role}_accuracy"][index]) is not None:
            runs[f"heldout_{role}"] = {MEAN: [(step, value)]}
    return runs


def final_runs(record: Mapping[str, Any], report: Mapping[str, Any], step: int) -> dict[str, dict[str, list]]:
    """The final sweep's curves (one run each) and the test means of the patched model at ``step``."""
    tasks = set(record["tasks"])
    runs: dict[str, dict[str, list]] = {}
    for name, values in curve_series(record).items():
        tag = f"{CURVE}/task_accuracy" if name in tasks else f"{CURVE}/mean_accuracy"
        points = [(round(a * 100), v) for a, v in zip(record["alphas"], values, strict=True) if v is not None]
        runs[f"curve_{name}"] = {tag: points}
    columns, rows = final_table(report)
    table = [dict(zip(columns, row, strict=True)) for row in rows]
    for role in ("patch", "support"):
        patched = [row["patched"] for row in table if row["role"] == role and row["patched"] is not None]
        if patched:
            runs[f"test_{role}"] = {MEAN: [(step, sum(patched) / len(patched))]}
    return runs


def log_sweep(logger: Any, record: Mapping[str, Any], figures: bool = True) -> None:
    """A sweep in TensorBoard: its figures (when ``figures``) and table, its points in the comparison runs."""
    step = record["global_step"]
    writer = logger.experiment
    if figures:
        writer.add_figure("paint/alpha_curves", curves_figure(record), global_step=step, close=True)
    if figures and has_tradeoff(record):
        writer.add_figure("paint/tradeoff", tradeoff_figure(record), global_step=step, close=True)
    writer.add_text("paint/sweep", sweep_markdown(record), step)
    writer.flush()
    write_runs(logger.log_dir, sweep_runs(record, step))


def log_final(logger: Any, record: Mapping[str, Any], report: Mapping[str, Any], step: int) -> None:
    """The end of a run: the final sweep's curves, the test means and the final table (Text)."""
    write_runs(logger.log_dir, final_runs(record, report, step))
    logger.experiment.add_text("paint/final", final_markdown(report), step)
    logger.experiment.flush()


def custom_scalars_layout(roles: Mapping[str, str]) -> dict[str, dict[str, list[Any]]]:
    """The Custom Scalars page: alpha*, patch vs support, the final sweep's curves, each task."""
    tasks = {
        f"{name} ({role}): held-out % by model": ["Multiline", [rf"^task/{name}$"]] for name, role in roles.items()
    }
    return {
        "PAINT at a glance": {
            "alpha* over training": ["Multiline", [r"^paint/alpha_star$"]],
            "mean % at alpha* (held-out, test)": ["Multiline", [rf"^{MEAN}$"]],
            "final sweep: task % vs alpha x 100": ["Multiline", [rf"^{CURVE}/task_accuracy$"]],
            "final sweep: mean % vs alpha x 100": ["Multiline", [rf"^{CURVE}/mean_accuracy$"]],
        },
        "PAINT tasks": tasks,
    }


def declare_hparams(writer: Any, params: Mapping[str, Any]) -> None:
    """Declares the HParams tab's row: ``params`` (unset ones left out) and :data:`HPARAM_METRICS`.

    TensorBoard keeps the first such declaration of a run, so it is written at the start of
    ``fit`` (before Lightning's own). A metric column's value is the last scalar of its tag in its
    run (``group``, relative to the logger's run). ``SummaryWriter.add_hparams`` would put the row
    in a new run with placeholder metric values, so it goes through the writer's ``file_writer``.
    """
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
    from torch.utils.tensorboard.summary import hparams

    exp, ssi, _ = hparams(clean_params(params), {})
    value = exp.value[0]
    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    for group, tag, title in HPARAM_METRICS:
        name = api_pb2.MetricName(group=group, tag=tag)
        data.experiment.metric_infos.add(name=name, display_name=title)
    value.metadata.plugin_data.content = data.SerializeToString()
    if (file_writer := getattr(writer, "file_writer", None)) is None:
        raise RuntimeError(f"cannot declare the HParams row: {type(writer).__name__} has no open file_writer.")
    for summary in (exp, ssi):
        file_writer.add_summary(summary)
    writer.flush()


def line_runs(roles: Mapping[str, str]) -> list[str]:
    """The comparison runs in the order they are made, which is the order TensorBoard colours them in.

    Its palette has 7 colours, given in turn to the runs (the logger's own first): in this order
    the lines that share a chart get different colours (for up to 7 tasks).
    """
    present = [role for role in ("patch", "support") if role in roles.values()]
    means = [f"{kind}_{role}" for kind in ("heldout", "test") for role in present]
    curves = [f"curve_{name}" for name in roles] + [f"curve_{role}_mean" for role in present]
    return ["zero_shot", "fine_tuned", "patched", *means, *curves]


def start_run(logger: Any, roles: Mapping[str, str], params: Mapping[str, Any], layout: bool, hparams: bool) -> None:
    """At the start of a run: the comparison runs (empty, in colour order), the layout and HParams row."""
    writer = logger.experiment  # the logger's own run first: it takes the first colour
    for run in line_runs(roles):
        run_writer(logger.log_dir, run).close()
    if layout:
        writer.add_custom_scalars(custom_scalars_layout(roles))
    if hparams:
        declare_hparams(logger.experiment, params)
