"""Sweeps and test results as plain data (the ``paint_report.json`` shapes) and as text.

:func:`sweep_record` is one sweep, :func:`test_record` one test evaluation, :func:`run_report` the
report of a run (its latest sweep, alpha* per sweep and the test result).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from paint_lightning.data.tasks import ROLES
from paint_lightning.engine.counts import TaskCounts, curves_of
from paint_lightning.engine.paired_record import paired_selection
from paint_lightning.engine.sweep_settings import SweepSettings
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix
from paint_lightning.selection.criteria import limits_at, mean_or_nan, mean_or_none, objective, select_alpha
from paint_lightning.selection.normalised import normalised_row, reference_of
from paint_lightning.selection.uncertainty import (
    interval_text,
    mean_interval,
    objective_interval,
    objective_stderr,
    selection_warnings,
)


def sweep_record(
    alphas: Sequence[float],
    roles: Mapping[str, str],
    table: Mapping[Mix, TaskCounts],
    settings: SweepSettings,
    selected: int | None = None,
) -> dict[str, Any]:
    """One sweep as plain data: curves, uncertainties, alpha*, the limits and how much to trust it.

    ``selected`` is the index of alpha* in ``alphas`` as :func:`~paint_lightning.engine.alpha_sweep.sweep_alphas`
    chose it (with :func:`~paint_lightning.selection.criteria.select_alpha`); without it the
    record chooses the same way.

    Keys: ``alphas``, ``selected_alpha``, ``criterion``, ``objective`` (``None`` where
    infeasible), ``objective_stderr`` (binomial, at alpha*), ``objective_interval`` (``[low,
    high]`` at alpha*: Wilson, about 68%, see :mod:`~paint_lightning.selection.uncertainty`),
    ``tied_alphas`` and ``alpha_interval`` (the feasible alphas a paired test on the held-out
    images cannot tell from alpha*, and their range), ``paired_test`` (that test in words),
    ``required_heldout`` (images per task that would tell alpha* from its grid neighbours; see
    :mod:`~paint_lightning.engine.paired_record`), ``warnings``, ``limits`` (the
    constrained criteria's limits and the drops at alpha*, ``None`` for ``mean``; see
    :func:`~paint_lightning.selection.criteria.limits_at`), ``start_name`` (what alpha = 0
    is), ``patch_accuracy``/``support_accuracy`` (means per alpha), ``tasks`` (per task: ``role``,
    ``accuracy``, ``stderr`` and ``interval`` per alpha in %, ``loss`` (mean cross-entropy,
    ``None`` where not measured), ``num_examples``, ``zero_shot``, ``fine_tuned``,
    ``fine_tuned_loss``).
    """
    alphas = list(alphas)
    rows = [table[Mix.of(a)] for a in alphas]
    sweep = curves_of(rows, table[ZERO_SHOT], roles, alphas)
    limits = (settings.criterion, settings.max_support_drop, settings.max_task_drop)
    scores = objective(sweep, *limits)
    index = select_alpha(sweep, *limits)[0] if selected is None else selected
    alpha = alphas[index]
    patch = [n for n, r in roles.items() if r == "patch"]
    support = [n for n, r in roles.items() if r == "support"]
    best = rows[index]
    obj_se = objective_stderr(
        {n: best.stderr(n) for n in patch}, {n: best.stderr(n) for n in support}, settings.criterion
    )
    _, *interval = objective_interval(
        {n: best.estimate(n) for n in patch}, {n: best.estimate(n) for n in support}, settings.criterion
    )
    support_interval = mean_interval(best.estimate(n) for n in support)[1:] if support else None
    totals = best.total
    paired = paired_selection(alphas, roles, table, settings.criterion, scores, index)
    noise = paired.pop("noise")
    return {
        "alphas": alphas,
        "selected_alpha": alpha,
        "criterion": settings.describe(),
        "objective": [None if math.isinf(v) else v for v in scores],
        "objective_stderr": obj_se,
        "objective_interval": interval,
        **paired,
        "warnings": selection_warnings(
            noise["spread"] if noise is not None else None,
            support_interval,
            settings.max_support_drop,
            {n: totals[n] for n in roles},
        ),
        "limits": limits_at(sweep, index, *limits),
        "start_name": settings.start_name,
        "patch_accuracy": [mean_or_none(r.accuracy(n) for n in patch) for r in rows],
        "support_accuracy": [mean_or_none(r.accuracy(n) for n in support) for r in rows],
        "tasks": {
            name: {
                "role": role,
                "accuracy": [r.accuracy(name) for r in rows],
                "stderr": [r.stderr(name) for r in rows],
                "interval": [list(r.interval(name)) for r in rows],
                "loss": [r.mean_loss(name) for r in rows],
                "num_examples": totals[name],
                "zero_shot": table[ZERO_SHOT].accuracy(name),
                "fine_tuned": table[FINE_TUNED].accuracy(name),
                "fine_tuned_loss": table[FINE_TUNED].mean_loss(name),
            }
            for name, role in roles.items()
        },
    }


def at_alpha(record: Mapping[str, Any], alpha: float) -> dict[str, float]:
    """Task name -> held-out accuracy of ``record`` at ``alpha``."""
    index = record["alphas"].index(alpha)
    return {name: task["accuracy"][index] for name, task in record["tasks"].items()}


def summary_line(record: Mapping[str, Any]) -> str:
    """One line per sweep: alpha*, its accuracies with their intervals, and the tie range.

    Each role's mean is shown with its interval (Wilson, about 68%: honest at 0% and 100%, see
    :mod:`~paint_lightning.selection.uncertainty`). Several patch tasks are also listed one by
    one after their mean, as are transfer tasks (reported, never selected on), which come last.
    """
    alpha = record["selected_alpha"]
    index = record["alphas"].index(alpha)
    tasks = record["tasks"]
    parts = []
    for role in ROLES:
        names = [n for n, t in tasks.items() if t["role"] == role]
        if names:
            value, low, high = mean_interval((tasks[n]["accuracy"][index], *tasks[n]["interval"][index]) for n in names)
            each = ", ".join(f"{n} {tasks[n]['accuracy'][index]:.2f}" for n in names)
            parts.append(
                f"{role} {interval_text(value, (low, high))}"
                + (f" ({each})" if role == "transfer" or (role == "patch" and len(names) > 1) else "")
            )
    tied = record.get("tied_alphas") or [alpha]
    ties = (
        f" (alphas {min(tied):g}-{max(tied):g} cannot be told apart from alpha* on these held-out images)"
        if len(tied) > 1
        else ""
    )
    return f"alpha* = {alpha:g}: " + ", ".join(parts) + ties


def test_record(roles: Mapping[str, str], table: Mapping[Mix, TaskCounts], alpha: float | None) -> dict[str, Any]:
    """Zero-shot, fine-tuned and patched (alpha*) test accuracy per task, with standard errors and intervals.

    Each row also holds the patched accuracy normalised (``normalised``, %) by its reference
    (``normalised_to``: the fine-tuned model for patch tasks, the start for the others; see
    :mod:`~paint_lightning.selection.normalised`).
    """
    patched = table[Mix.of(alpha)] if alpha is not None else None
    rows = {}
    for name, role in roles.items():
        row: dict[str, Any] = {
            "role": role,
            "zero_shot": table[ZERO_SHOT].accuracy(name),
            "fine_tuned": table[FINE_TUNED].accuracy(name),
            "patched": patched.accuracy(name) if patched is not None else None,
            "num_examples": table[ZERO_SHOT].total[name],
            "stderr": {
                "zero_shot": table[ZERO_SHOT].stderr(name),
                "fine_tuned": table[FINE_TUNED].stderr(name),
                "patched": patched.stderr(name) if patched is not None else None,
            },
            "interval": {
                "zero_shot": list(table[ZERO_SHOT].interval(name)),
                "fine_tuned": list(table[FINE_TUNED].interval(name)),
                "patched": list(patched.interval(name)) if patched is not None else None,
            },
        }
        row["normalised"] = normalised_row(row)
        row["normalised_to"] = reference_of(role)
        rows[name] = row
    return {"alpha": alpha, "tasks": rows}


def final_table(rows: Mapping[str, Mapping[str, Any]], alpha: float, split: str, start: str = "zero-shot") -> str:
    """Plain-text table of zero-shot / fine-tuned / patched / normalised accuracy per task, and each role's mean.

    ``start`` heads the alpha = 0 column (``start`` when the run began from a patched model). The
    normalised column is the patched accuracy as a share of its reference
    (:mod:`~paint_lightning.selection.normalised`); each role's mean is the mean of its tasks' shares.
    """
    width = max([len(name) for name in rows] + [8])
    roles = [role for role in ROLES if any(row["role"] == role for row in rows.values())]
    role_width = max([len(role) for role in roles] + [7])
    keys = ("zero_shot", "fine_tuned", "patched", "normalised")
    lines = [
        f"PAINT result on the {split} splits (alpha* = {alpha:g}; {split} accuracy, %)",
        f"{'task':<{width}}  {'role':<{role_width}}  {start:>9}  {'fine-tuned':>10}  {'patched':>7}  "
        f"{'normalised':>10}",
    ]

    def cells(values: Mapping[str, float | None]) -> str:
        out = [f"{_cell(values[key]):>{size}}" for key, size in zip(keys, (9, 10, 7, 10), strict=True)]
        return "  ".join(out)

    for name, row in rows.items():
        values = {**{key: row.get(key) for key in keys[:3]}, "normalised": normalised_row(row)}
        lines.append(f"{name:<{width}}  {row['role']:<{role_width}}  {cells(values)}")
    for role in roles:
        chosen = [row for row in rows.values() if row["role"] == role]
        means = {key: mean_or_nan(row[key] for row in chosen) for key in keys[:3]}
        shares = [normalised_row(row) for row in chosen]
        means["normalised"] = None if None in shares else mean_or_none(shares)  # type: ignore[arg-type]
        lines.append(f"{'mean':<{width}}  {role:<{role_width}}  {cells(means)}")
    others = " and ".join(role for role in roles if role != "patch")
    text = {"fine_tuned": "fine-tuned on patch tasks", "zero_shot": f"{start} on {others} tasks"}
    refs = sorted({reference_of(role) for role in roles})
    lines.append("normalised: patched / " + ", patched / ".join(text[ref] for ref in refs) + " (%)")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"


def run_report(
    history: Sequence[Mapping[str, Any]], zero_shot: Mapping[str, list[int]], test_result: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The ``paint_report.json`` content: the latest sweep, alpha* per sweep, the test result.

    A partial sweep (an intermediate live sweep, :mod:`~paint_lightning.engine.sweep_schedule`)
    keeps its ``partial`` key, with its own zero-shot accuracies (on its images); every history
    entry says whether its sweep was ``partial``.

    Args:
        history: The sweeps (:func:`sweep_record`, with ``epoch`` and ``global_step``), oldest first.
        zero_shot: The zero-shot model's held-out counts (``TaskCounts.to_json()``).
        test_result: The test evaluation (:func:`test_record`), if any.
    """
    latest = history[-1]
    counts = TaskCounts.from_json(dict(zero_shot))
    out = {
        **latest,
        "zero_shot": {name: task["zero_shot"] for name, task in latest["tasks"].items()}
        if latest.get("partial")
        else {name: counts.accuracy(name) for name in counts.correct},
        "fine_tuned": {name: task["fine_tuned"] for name, task in latest["tasks"].items()},
        "history": [
            {
                "epoch": r["epoch"],
                "global_step": r["global_step"],
                "selected_alpha": r["selected_alpha"],
                "patch_accuracy": r["patch_accuracy"][r["alphas"].index(r["selected_alpha"])],
                "support_accuracy": r["support_accuracy"][r["alphas"].index(r["selected_alpha"])],
                "partial": bool(r.get("partial")),
            }
            for r in history
        ],
    }
    if test_result is not None:
        out["test"] = test_result
    return out
