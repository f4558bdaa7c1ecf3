"""The sweep in TensorBoard, readable at a glance.

* Figures per sweep (Images tab; a partial live sweep says so in its title): held-out accuracy vs
  alpha per task, references and alpha* marked; the patch-vs-support trade-off; a Markdown table.
* :class:`TensorBoardDashboard` (always on in the ``paint`` CLI as ``dashboard:``): a custom-scalars
  layout (Custom Scalars tab) that puts alpha* over training, the patch and support means at
  alpha*, each task's zero-shot / fine-tuned / patched accuracy, and the final sweep's
  accuracy-vs-alpha curves on one page; the hyperparameters with the final metrics (HParams tab).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import TensorBoardLogger
from typing_extensions import override

from paint_lightning.engine.record import run_report
from paint_lightning.engine.sweep_schedule import partial_text
from paint_lightning.interpolation.mix import rounded

CURVE = "final_sweep"  # scalar tags of the final sweep: step = round(alpha * 100)
ROLE_STYLE = {"patch": "-", "support": "--"}


def log_to_tensorboard(logger: Any, record: dict[str, Any]) -> None:
    """Alpha curves and the patch/support trade-off as figures, and the sweep as a table."""
    if not isinstance(logger, TensorBoardLogger):
        return
    step = record["global_step"]
    writer = logger.experiment
    writer.add_figure("paint/alpha_curves", curves_figure(record), global_step=step, close=True)
    index = record["alphas"].index(record["selected_alpha"])
    if record["support_accuracy"][index] is not None:
        writer.add_figure("paint/tradeoff", tradeoff_figure(record), global_step=step, close=True)
    writer.add_text("paint/sweep", sweep_markdown(record), step)
    writer.flush()


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _title(record: Mapping[str, Any], what: str) -> str:
    epoch = record.get("epoch")  # a partial (live) sweep says so first
    return partial_text(record) + (f"{what}, epoch {epoch}" if epoch is not None else what)


def curves_figure(record: Mapping[str, Any]) -> Any:
    """Held-out accuracy vs alpha, one line per task (patch solid, support dashed), alpha* marked."""
    plt = _pyplot()
    alphas = record["alphas"]
    selected = record["selected_alpha"]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for name, task in record["tasks"].items():
        style = ROLE_STYLE.get(task["role"], ":")
        ax.plot(alphas, task["accuracy"], style, marker="o", markersize=3, label=f"{name} ({task['role']})")
    ax.axvline(selected, color="black", linestyle=":", linewidth=1.2, label=f"alpha* = {selected:g}")
    ax.set_xlabel("alpha (0 = zero-shot, 1 = fine-tuned)")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_xlim(min(alphas) - 0.02, max(alphas) + 0.02)
    ax.grid(alpha=0.3)
    criterion = textwrap.fill(f"alpha* = {selected:g}: {record['criterion']}", 90)
    fig.suptitle(f"{_title(record, 'Held-out accuracy vs alpha')}\n{criterion}", fontsize=9)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def tradeoff_figure(record: Mapping[str, Any]) -> Any:
    """Mean patch vs mean support accuracy over alpha; every alpha labelled, alpha* starred."""
    plt = _pyplot()
    alphas = record["alphas"]
    index = alphas.index(record["selected_alpha"])
    support, patch = record["support_accuracy"], record["patch_accuracy"]
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    ax.plot(support, patch, "-o", color="tab:blue", markersize=3, label="interpolation (alpha 0 to 1)")
    for (x, y), at in coincident_labels(alphas, support, patch).items():
        ax.annotate(at, (x, y), textcoords="offset points", xytext=(5, -3), fontsize=7)
    ax.plot([support[index]], [patch[index]], "*", color="tab:red", markersize=14, label=f"alpha* = {alphas[index]:g}")
    if 0.0 in alphas:
        i = alphas.index(0.0)
        ax.plot([support[i]], [patch[i]], "s", color="grey", markersize=7, label="zero-shot (alpha 0)")
    if 1.0 in alphas:
        i = alphas.index(1.0)
        ax.plot([support[i]], [patch[i]], "^", color="black", markersize=7, label="fine-tuned (alpha 1)")
    ax.set_xlabel("mean support accuracy (%, held-out)")
    ax.set_ylabel("mean patch accuracy (%, held-out)")
    ax.grid(alpha=0.3)
    ax.set_title(_title(record, "Patch vs support trade-off"), fontsize=9)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def coincident_labels(alphas: Sequence[float], xs: Sequence[float], ys: Sequence[float]) -> dict[tuple, str]:
    """One label per distinct point: alphas landing on the same accuracies share it (``0.5-1``)."""
    groups: dict[tuple, list[float]] = {}
    for alpha, x, y in zip(alphas, xs, ys, strict=True):
        groups.setdefault((rounded(x), rounded(y)), []).append(alpha)
    return {
        point: f"{a[0]:g}" if len(a) == 1 else f"{min(a):g}-{max(a):g}" if len(a) > 2 else f"{a[0]:g}, {a[1]:g}"
        for point, a in groups.items()
    }


def sweep_markdown(record: Mapping[str, Any]) -> str:
    """The sweep as a Markdown table: one row per task, one column per alpha."""
    alphas = record["alphas"]
    header = "| task | role | " + " | ".join(f"{a:g}" for a in alphas) + " |"
    rule = "|---|---|" + "---|" * len(alphas)
    rows = [
        f"| {name} | {task['role']} | " + " | ".join(f"{v:.1f}" for v in task["accuracy"]) + " |"
        for name, task in record["tasks"].items()
    ]
    first = f"alpha* = {record['selected_alpha']:g} ({record['criterion']})"
    return "\n".join([partial_text(record) + first, "", header, rule, *rows])


def custom_scalars_layout(roles: Mapping[str, str]) -> dict[str, dict[str, list[Any]]]:
    """The Custom Scalars page: alpha*, patch vs support, each task, the final sweep's curves."""
    tasks = {
        f"{name} ({role}): zero-shot, fine-tuned, patched (%)": [
            "Multiline",
            [rf"paint/(zero_shot|fine_tuned|patched)/{name}$"],
        ]
        for name, role in roles.items()
    }
    return {
        "PAINT at a glance": {
            "alpha* over training": ["Multiline", [r"paint/alpha_star$"]],
            "patch vs support at alpha* (mean %)": ["Multiline", [r"paint/patched/(patch|support)_mean$"]],
            "final sweep: accuracy (%) vs alpha x 100": ["Multiline", [rf"{CURVE}/task/.*"]],
            "final sweep: means (%) vs alpha x 100": ["Multiline", [rf"{CURVE}/mean/.*"]],
        },
        "PAINT tasks (held-out)": tasks,
    }


def sweep_scalars(record: Mapping[str, Any]) -> dict[str, float]:
    """alpha*, the objective, and per task the zero-shot, fine-tuned and patched held-out accuracy."""
    index = record["alphas"].index(record["selected_alpha"])
    scalars = {"paint/alpha_star": float(record["selected_alpha"])}
    for role in ("patch", "support"):
        if record[f"{role}_accuracy"][index] is not None:
            scalars[f"paint/patched/{role}_mean"] = record[f"{role}_accuracy"][index]
    if record["objective"][index] is not None:
        scalars["paint/objective"] = record["objective"][index]
    for name, task in record["tasks"].items():
        scalars[f"paint/patched/{name}"] = task["accuracy"][index]
        scalars[f"paint/zero_shot/{name}"] = task["zero_shot"]
        scalars[f"paint/fine_tuned/{name}"] = task["fine_tuned"]
    return scalars


def log_final_curves(writer: Any, record: Mapping[str, Any]) -> None:
    """The last sweep's curves as scalars whose step is ``round(alpha * 100)`` (alpha in percent)."""
    for i, alpha in enumerate(record["alphas"]):
        step = round(alpha * 100)
        for name, task in record["tasks"].items():
            writer.add_scalar(f"{CURVE}/task/{name}", task["accuracy"][i], step)
        for role in ("patch", "support"):
            value = record[f"{role}_accuracy"][i]
            if value is not None:
                writer.add_scalar(f"{CURVE}/mean/{role}", value, step)


def final_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """What the HParams tab shows beside the hyperparameters: alpha*, held-out and test means."""
    index = report["alphas"].index(report["selected_alpha"])
    metrics = {"final/alpha_star": float(report["selected_alpha"])}
    for role in ("patch", "support"):
        value = report[f"{role}_accuracy"][index]
        if value is not None:
            metrics[f"final/heldout_{role}"] = float(value)
    test = (report.get("test") or {}).get("tasks", {})
    for role in ("patch", "support"):
        rows = [row for row in test.values() if row["role"] == role and row.get("patched") is not None]
        for key in ("zero_shot", "fine_tuned", "patched"):
            if rows:
                metrics[f"final/test_{role}_{key}"] = sum(row[key] for row in rows) / len(rows)
    return metrics


FINAL_METRICS = ["final/alpha_star", "final/heldout_patch", "final/heldout_support"] + [
    f"final/test_{role}_{key}" for role in ("patch", "support") for key in ("zero_shot", "fine_tuned", "patched")
]


def write_hparams(writer: Any, params: Mapping[str, Any]) -> None:
    """Declares the HParams tab's row: the hyperparameters, and the final metrics as columns.

    TensorBoard keeps the first such declaration of a run, so it is written at the start of
    ``fit`` (before Lightning's own); the metric values are the latest scalars of those tags.
    ``SummaryWriter.add_hparams`` would put it in a new run (a sub-folder) with placeholder metric
    values, so it goes through the writer's public ``file_writer`` (as add_hparams writes its own).
    """
    from torch.utils.tensorboard.summary import hparams

    clean = {key: _hparam_value(value) for key, value in flatten(params).items()}
    exp, ssi, sei = hparams(clean, dict.fromkeys(FINAL_METRICS, 0.0))
    if (file_writer := getattr(writer, "file_writer", None)) is None:
        raise RuntimeError(f"cannot declare the HParams row: {type(writer).__name__} has no open file_writer.")
    for summary in (exp, ssi, sei):
        file_writer.add_summary(summary)
    writer.flush()


def log_hparams(writer: Any, params: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
    """Declares the HParams row (:func:`write_hparams`) and logs the final metrics' values."""
    write_hparams(writer, params)
    for key, value in metrics.items():
        writer.add_scalar(key, value, 0)
    writer.flush()


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a/b": 1}``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}/"))
        else:
            out[name] = value
    return out


def _hparam_value(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()  # TensorBoard would show 1.0 / 0.0
    if isinstance(value, int | float | str):
        return value
    return "None" if value is None else str(value)


class TensorBoardDashboard(Callback):
    """Custom-scalars layout and HParams with the final metrics, for every TensorBoard logger.

    Args:
        layout: Write the custom-scalars layout at the start of ``fit``.
        hparams: Write the hyperparameters with the final metrics (HParams tab) and the final
            sweep's curves at the end of ``fit``.
    """

    def __init__(self, layout: bool = True, hparams: bool = True) -> None:
        super().__init__()
        self.layout = layout
        self.hparams = hparams

    @override
    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        specs: Sequence[Any] = getattr(pl_module, "task_specs", [])
        sweep = _sweep(trainer)
        params = {
            "model": {k: v for k, v in dict(getattr(pl_module, "hparams", {})).items() if k != "tasks"},
            "tasks": {s.name: s.role for s in specs},
        }
        if sweep is not None:
            params["sweep"] = {
                "criterion": sweep.settings.criterion,
                "max_support_drop": sweep.settings.max_support_drop,
            }
        for writer in _writers(trainer):
            if self.layout:
                writer.add_custom_scalars(custom_scalars_layout({s.name: s.role for s in specs}))
            if self.hparams:
                write_hparams(writer, params)

    @override
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        sweep = _sweep(trainer)
        if not self.hparams or sweep is None or not sweep.history or not trainer.is_global_zero:
            return
        final = run_report(sweep.history, sweep.zero_shot, sweep.test_result)
        for writer in _writers(trainer):
            log_final_curves(writer, sweep.history[-1])
            for key, value in final_metrics(final).items():
                writer.add_scalar(key, value, trainer.global_step)
            writer.flush()


def _sweep(trainer: Trainer) -> Any:
    """The trainer's interpolation sweep callback (found by what it has: history and settings)."""
    callbacks = getattr(trainer, "callbacks", [])
    return next((c for c in callbacks if hasattr(c, "history") and hasattr(c, "settings")), None)


def _writers(trainer: Trainer) -> list[Any]:
    return [logger.experiment for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]
