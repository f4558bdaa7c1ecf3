"""What a run shows in any logger, independent of the logger: tables, scalars, curves, settings.

The per-logger writers (:mod:`~paint_lightning.callbacks.tensorboard`,
:mod:`~paint_lightning.callbacks.logger_writers`) only decide where each piece goes; the figures
are :mod:`~paint_lightning.callbacks.sweep_figures`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paint_lightning.engine.sweep_schedule import partial_text

TEST_KEYS = ("zero_shot", "fine_tuned", "patched")


def curve_series(record: Mapping[str, Any]) -> dict[str, list[float | None]]:
    """The sweep's curves over ``record["alphas"]``: one per task, then the patch and support means."""
    series: dict[str, list[float | None]] = {name: list(task["accuracy"]) for name, task in record["tasks"].items()}
    for role in ("patch", "support"):
        if any(v is not None for v in record[f"{role}_accuracy"]):
            series[f"{role}_mean"] = list(record[f"{role}_accuracy"])
    return series


def sweep_table(record: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The sweep as columns and rows: one row per alpha (``alpha``, each task, the role means)."""
    series = curve_series(record)
    rows = [[alpha, *(values[i] for values in series.values())] for i, alpha in enumerate(record["alphas"])]
    return ["alpha", *series], rows


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


def final_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """The run in a few numbers: alpha*, the held-out means at alpha*, the test means per role and model."""
    index = report["alphas"].index(report["selected_alpha"])
    metrics = {"final/alpha_star": float(report["selected_alpha"])}
    for role in ("patch", "support"):
        value = report[f"{role}_accuracy"][index]
        if value is not None:
            metrics[f"final/heldout_{role}"] = float(value)
    test = (report.get("test") or {}).get("tasks", {})
    for role in ("patch", "support"):
        rows = [row for row in test.values() if row["role"] == role and row.get("patched") is not None]
        for key in TEST_KEYS:
            if rows:
                metrics[f"final/test_{role}_{key}"] = sum(row[key] for row in rows) / len(rows)
    return metrics


def final_table(report: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The final test table: one row per task (role, zero-shot, fine-tuned, patched %); no test: no rows."""
    test = (report.get("test") or {}).get("tasks", {})
    rows = [[name, row["role"], *(row.get(key) for key in TEST_KEYS)] for name, row in test.items()]
    return ["task", "role", *TEST_KEYS], rows


def final_markdown(report: Mapping[str, Any]) -> str:
    """The final table in Markdown, under a line with alpha* and the criterion."""
    columns, rows = final_table(report)
    head = f"alpha* = {report['selected_alpha']:g} ({report['criterion']}), test accuracy (%)"
    if not rows:
        return f"{head}: no test splits were evaluated."
    cell = lambda v: "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join([head, "", *lines])


def run_params(module: Any, trainer: Any, sweep: Any) -> dict[str, Any]:
    """The settings worth a column when runs are compared; the five that matter most sort first.

    TensorBoard's HParams table shows the first five by name until more are ticked:
    ``criterion``, ``epochs``, ``lr``, ``model``, ``tasks``; then ``train_batch_size``,
    ``warmup_steps``, ``weight_decay``. Unset settings (``None``) are left out.
    """
    hparams = dict(getattr(module, "hparams", {}))
    clip = hparams.get("clip") or {}
    pretrained = clip.get("pretrained")
    if pretrained and ("/" in pretrained or "." in pretrained) and not pretrained.startswith("hf-hub:"):
        pretrained = Path(pretrained).name  # a local file: its name
    model = clip.get("name") or ("inline config" if clip.get("config") else None)
    specs = getattr(module, "task_specs", [])
    roles = {role: ", ".join(s.name for s in specs if s.role == role) for role in ("patch", "support")}
    params: dict[str, Any] = {
        "model": ", ".join(str(v) for v in (model, pretrained) if v) or None,
        "lr": hparams.get("lr"),
        "epochs": getattr(trainer, "max_epochs", None),
        "tasks": "; ".join(f"{role}: {names}" for role, names in roles.items() if names) or None,
        "train_batch_size": getattr(getattr(trainer, "datamodule", None), "batch_size", None),
        "warmup_steps": hparams.get("warmup_steps"),
        "weight_decay": hparams.get("weight_decay"),
    }
    if sweep is not None:
        drop = sweep.settings.max_support_drop
        params["criterion"] = sweep.settings.criterion + (f" (support drop <= {drop:g})" if drop is not None else "")
    return {key: value for key, value in params.items() if value is not None}


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


def hparam_value(value: Any) -> Any:
    """A value a dashboard shows as written: booleans as ``true``/``false``, other objects as text."""
    if isinstance(value, bool):
        return str(value).lower()  # TensorBoard would show 1.0 / 0.0
    if isinstance(value, int | float | str):
        return value
    return str(value)


def clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` flattened, unset (``None``) values dropped, the rest as :func:`hparam_value`."""
    return {key: hparam_value(value) for key, value in flatten(params).items() if value is not None}
