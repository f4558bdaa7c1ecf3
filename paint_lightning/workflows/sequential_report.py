"""Sequential patching's checks and reports: per step, and one for the whole chain."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from paint_lightning.io.patched import load_patched
from paint_lightning.io.report_file import read_report


class ChainError(RuntimeError):
    """Steps of a chain that do not fit together (another model, changed heads or tasks)."""


def check_steps(run_dirs: Sequence[Path]) -> dict[str, Any]:
    """Checks that each step continued the previous one; raises :class:`ChainError` otherwise.

    * every export has the same model config (QuickGELU included);
    * every tensor outside the image tower (text tower, logit scale) is the same in every export,
      so a task's zero-shot head is the same at every step;
    * a task in several steps has the same class names and templates in each;
    * on every task held out in two consecutive steps, step ``k``'s start accuracy equals step
      ``k - 1``'s patched accuracy (same held-out images): step ``k`` started from that export.
      Recorded, not raised: data settings changed between steps would make it differ legitimately.
    """
    metas, states = [], []
    for run_dir in run_dirs:
        state, meta = load_patched(run_dir)
        metas.append(meta)
        states.append({key: value for key, value in state.items() if not key.startswith("visual.")})
    for k in range(1, len(run_dirs)):
        if metas[k]["model_cfg"] != metas[k - 1]["model_cfg"]:
            raise ChainError(
                f"step {k + 1} built another model than step {k} ({metas[k]['model_cfg']} vs "
                f"{metas[k - 1]['model_cfg']}): it must start from step {k}'s export with that export's config."
            )
        changed = sorted(
            key
            for key in states[k].keys() | states[k - 1].keys()
            if key not in states[k] or key not in states[k - 1] or not torch.equal(states[k][key], states[k - 1][key])
        )
        if changed:
            raise ChainError(
                f"step {k + 1} changed tensors outside the image tower ({changed[:5]}); heads would differ."
            )
    specs: dict[str, tuple[int, dict[str, Any]]] = {}
    for k, meta in enumerate(metas):
        for name, task in meta["tasks"].items():
            spec = {"classnames": task["classnames"], "templates": task["templates"]}
            if name in specs and specs[name][1] != spec:
                raise ChainError(
                    f"task {name!r} has other class names or templates in step {k + 1} than in step "
                    f"{specs[name][0] + 1}: its head changed, so its protection means nothing. Define it once."
                )
            specs.setdefault(name, (k, spec))
    continuity = []
    reports = [read_report(run_dir) for run_dir in run_dirs]
    for k in range(1, len(reports)):
        before, after = reports[k - 1], reports[k]
        index = before["alphas"].index(before["selected_alpha"])
        for name, task in after["tasks"].items():
            old = before["tasks"].get(name)
            if old is not None and old["num_examples"] == task["num_examples"]:
                end, start = old["accuracy"][index], task["zero_shot"]
                continuity.append({"step": k + 1, "task": name, "previous_patched": end, "start": start})
    return {
        "same_model_config": True,
        "same_text_tower": True,
        "same_task_specs": True,
        "start_is_previous_patched": all(math.isclose(c["previous_patched"], c["start"]) for c in continuity),
        "continuity": continuity,
    }


def _step_summary(index: int, record: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    alpha = report["selected_alpha"]
    at = report["alphas"].index(alpha)
    protected = {
        name: {
            "start": task["zero_shot"],
            "patched": task["accuracy"][at],
            "drop": task["zero_shot"] - task["accuracy"][at],
        }
        for name, task in report["tasks"].items()
        if task["role"] == "support"
    }
    return {
        "step": index + 1,
        "name": record["name"],
        "patch": record["patch"],
        "run_dir": record["run_dir"],
        "command": record["command"],
        "alpha": alpha,
        "criterion": report["criterion"],
        "roles": {name: task["role"] for name, task in report["tasks"].items()},
        "heldout_support": protected,
        "start_name": report.get("start_name", "zero-shot"),
        "limits": report.get("limits"),
        "test": report.get("test", {}).get("tasks", {}),
    }


def final_report(chain: Any, records: Sequence[dict[str, Any]], checks: dict[str, Any]) -> dict[str, Any]:
    """The chain as plain data: each step's summary, every task's test accuracy before and after each step."""
    steps = [_step_summary(k, record, read_report(Path(record["run_dir"]))) for k, record in enumerate(records)]
    names: list[str] = []
    for step in steps:
        names += [name for name in step["test"] if name not in names]
    tasks = {}
    for name in names:
        rows = [step["test"].get(name) for step in steps]
        first = next(row for row in rows if row is not None)
        start = first["zero_shot"] if rows[0] is not None else None
        patched_at = next((s["step"] for s in steps if name in s["patch"]), None)
        tasks[name] = {
            "patched_at_step": patched_at,
            "roles": [row["role"] if row else None for row in rows],
            "start": start,
            "after_step": [row["patched"] if row else None for row in rows],
        }
    return {"steps": steps, "tasks": tasks, "checks": checks}


def limits_text(limits: dict[str, Any] | None, earlier: Sequence[str]) -> str | None:
    """Which limits held at a step's alpha*, in words (None without limits: criterion ``mean``).

    E.g. ``support mean drop <= 1.5 (0.86 at alpha*), each earlier patch <= 1 (digits 0.80): held``.

    Args:
        limits: The step's ``limits`` (:func:`~paint_lightning.selection.criteria.limits_at`).
        earlier: The tasks patched by earlier steps.
    """
    if not limits:
        return None
    support = limits["support"]
    what = "support mean drop" if support["of"] == "mean" else "largest support drop"
    parts = [f"{what} <= {support['limit']:g} ({support['drop']:.2f} at alpha*)"]
    tasks = limits.get("tasks", {})
    mine = {n: t for n, t in tasks.items() if n in earlier}
    bounds = {t["limit"] for t in mine.values()}
    listed: set[str] = set()
    if len(bounds) == 1:  # paint sequential's max_earlier_drop: one limit for every earlier patch
        each = ", ".join(f"{n} {t['drop']:.2f}" for n, t in mine.items())
        parts.append(f"each earlier patch <= {bounds.pop():g} ({each})")
        listed = set(mine)
    parts += [f"{n} <= {t['limit']:g} ({t['drop']:.2f})" for n, t in tasks.items() if n not in listed]
    broken = ([what] if not support["held"] else []) + [n for n, t in tasks.items() if not t["held"]]
    verdict = "held" if not broken else f"NOT held by {', '.join(broken)} (no alpha kept every limit)"
    return ", ".join(parts) + f": {verdict}"


def step_text(index: int, record: dict[str, Any], earlier: Sequence[str] = ()) -> str:
    """One line per step (its test table is the run's own), the support tasks it protected and its limits."""
    report = read_report(Path(record["run_dir"]))
    summary = _step_summary(index, record, report)
    lines = [f"Step {index + 1} ({record['name']}) done: alpha* = {summary['alpha']:g}, run {record['run_dir']}"]
    held = ", ".join(f"{n} {v['start']:.2f} -> {v['patched']:.2f}" for n, v in summary["heldout_support"].items())
    if held:
        lines.append(f"  held-out support accuracy, {summary['start_name']} -> alpha*: {held}")
    limits = limits_text(summary["limits"], earlier)
    if limits is not None:
        lines.append(f"  limits: {limits}")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report_text(report: dict[str, Any]) -> str:
    """The final report as a table: every task's test accuracy at the start and after every step."""
    steps = report["steps"]
    names = list(report["tasks"])
    width = max([len(n) for n in names] + [12])
    heads = ["start", *(f"after {s['step']}:{s['name']}" for s in steps)]
    cols = [max(9, len(h)) for h in heads]
    alphas = ", ".join(f"{s['alpha']:g}" for s in steps)
    lines = [
        f"Sequential patching: test accuracy at the start and after each step (alpha* per step: {alphas})",
        f"{'task':<{width}}  {'patched at':<10}  " + "  ".join(f"{h:>{c}}" for h, c in zip(heads, cols, strict=True)),
    ]
    for name, task in report["tasks"].items():
        at = f"step {task['patched_at_step']}" if task["patched_at_step"] else "-"
        values = [task["start"], *task["after_step"]]
        lines.append(
            f"{name:<{width}}  {at:<10}  " + "  ".join(f"{_cell(v):>{c}}" for v, c in zip(values, cols, strict=True))
        )
    for label, chosen in (
        ("mean patched", [t for t in report["tasks"].values() if t["patched_at_step"]]),
        ("mean others", [t for t in report["tasks"].values() if not t["patched_at_step"] and "support" in t["roles"]]),
    ):
        if chosen:
            values = [[t["start"], *t["after_step"]] for t in chosen]
            means = [
                None if any(v[i] is None for v in values) else sum(v[i] for v in values) / len(values)
                for i in range(len(heads))
            ]
            lines.append(
                f"{label:<{width}}  {'':<10}  "
                + "  ".join(f"{_cell(m):>{c}}" for m, c in zip(means, cols, strict=True))
            )
    for k, step in enumerate(steps[1:], start=1):
        limits = limits_text(step.get("limits"), [n for s in steps[:k] for n in s["patch"]])
        drops = ", ".join(f"{n} {v['start']:.2f} -> {v['patched']:.2f}" for n, v in step["heldout_support"].items())
        where = f"start -> alpha* {step['alpha']:g}, {step['criterion']}"
        lines.append(f"Step {step['step']} held-out support ({where}): {drops}")
        if limits is not None:
            lines.append(f"Step {step['step']} limits: {limits}")
    checks = report["checks"]
    lines.append(
        "Checks: same model config, text tower and task heads at every step; each step started from the previous "
        f"export: {'yes' if checks['start_is_previous_patched'] else 'NO (see continuity in the JSON report)'}."
    )
    return "\n".join(lines)
