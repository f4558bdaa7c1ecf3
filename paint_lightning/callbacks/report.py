"""What the user sees of a sweep: the JSON report, TensorBoard figures, the final table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger


def sweep_record(
    epoch: int,
    global_step: int,
    alphas: Sequence[float],
    roles: dict[str, str],
    accuracy: dict[str, list[float]],
    num_examples: dict[str, int],
    selected_index: int,
    objective: Sequence[float],
    criterion: str,
) -> dict[str, Any]:
    """One sweep as plain data (the ``paint_report.json`` shape)."""
    patch = [n for n, r in roles.items() if r == "patch"]
    support = [n for n, r in roles.items() if r == "support"]
    return {
        "epoch": epoch,
        "global_step": global_step,
        "alphas": list(alphas),
        "selected_alpha": alphas[selected_index],
        "criterion": criterion,
        "objective": [None if math.isinf(v) else v for v in objective],
        "patch_accuracy": [_mean_or_none(accuracy[n][i] for n in patch) for i in range(len(alphas))],
        "support_accuracy": [_mean_or_none(accuracy[n][i] for n in support) for i in range(len(alphas))],
        "tasks": {
            name: {"role": roles[name], "accuracy": accuracy[name], "num_examples": num_examples[name]}
            for name in roles
        },
    }


def at_alpha(record: dict[str, Any], alpha: float) -> dict[str, float]:
    """Task name -> held-out accuracy of ``record`` at ``alpha``."""
    index = record["alphas"].index(alpha)
    return {name: task["accuracy"][index] for name, task in record["tasks"].items()}


def log_to_tensorboard(logger: Any, record: dict[str, Any]) -> None:
    """Alpha curves and the patch/support trade-off as figures, and the sweep as a table."""
    if not isinstance(logger, TensorBoardLogger):
        return
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    step = record["global_step"]
    writer = logger.experiment
    alphas = record["alphas"]
    selected = record["selected_alpha"]
    index = alphas.index(selected)

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, task in record["tasks"].items():
        style = "-" if task["role"] == "patch" else "--"
        ax.plot(alphas, task["accuracy"], style, marker="o", markersize=3, label=f"{name} ({task['role']})")
    ax.axvline(selected, color="grey", linestyle=":", label=f"alpha* = {selected:g}")
    ax.set_xlabel("alpha")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_title(f"Accuracy vs alpha, epoch {record['epoch']}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    writer.add_figure("paint/alpha_curves", fig, global_step=step)
    plt.close(fig)

    if record["support_accuracy"][index] is not None:
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(record["support_accuracy"], record["patch_accuracy"], marker="o", markersize=3)
        for alpha, x, y in zip(alphas, record["support_accuracy"], record["patch_accuracy"], strict=True):
            ax.annotate(f"{alpha:g}", (x, y), fontsize=6)
        ax.plot([record["support_accuracy"][index]], [record["patch_accuracy"][index]], "r*", markersize=12)
        ax.set_xlabel("support accuracy (%)")
        ax.set_ylabel("patch accuracy (%)")
        ax.set_title(f"Patch vs support trade-off, epoch {record['epoch']}")
        fig.tight_layout()
        writer.add_figure("paint/tradeoff", fig, global_step=step)
        plt.close(fig)

    writer.add_text("paint/sweep", sweep_markdown(record), step)
    writer.flush()


def sweep_markdown(record: dict[str, Any]) -> str:
    """The sweep as a Markdown table: one row per task, one column per alpha."""
    alphas = record["alphas"]
    header = "| task | role | " + " | ".join(f"{a:g}" for a in alphas) + " |"
    rule = "|---|---|" + "---|" * len(alphas)
    rows = [
        f"| {name} | {task['role']} | " + " | ".join(f"{v:.1f}" for v in task["accuracy"]) + " |"
        for name, task in record["tasks"].items()
    ]
    return "\n".join([f"alpha* = {record['selected_alpha']:g} ({record['criterion']})", "", header, rule, *rows])


def final_table(rows: dict[str, dict[str, Any]], alpha: float, split: str) -> str:
    """Plain-text table of zero-shot / fine-tuned / patched accuracy per task."""
    width = max([len(name) for name in rows] + [8])
    lines = [
        f"PAINT result on the {split} splits (alpha* = {alpha:g})",
        f"{'task':<{width}}  {'role':<7}  {'zero-shot':>9}  {'fine-tuned':>10}  {'patched':>7}",
    ]
    for name, row in rows.items():
        lines.append(
            f"{name:<{width}}  {row['role']:<7}  {row['zero_shot']:>9.2f}  "
            f"{row['fine_tuned']:>10.2f}  {row['patched']:>7.2f}"
        )
    for role in ("patch", "support"):
        chosen = [row for row in rows.values() if row["role"] == role]
        if chosen:
            means = {key: _mean(row[key] for row in chosen) for key in ("zero_shot", "fine_tuned", "patched")}
            lines.append(
                f"{'mean':<{width}}  {role:<7}  {means['zero_shot']:>9.2f}  "
                f"{means['fine_tuned']:>10.2f}  {means['patched']:>7.2f}"
            )
    return "\n".join(lines)


def _mean(values: Any) -> float:
    items = list(values)
    return sum(items) / len(items) if items else math.nan


def _mean_or_none(values: Any) -> float | None:
    mean = _mean(values)
    return None if math.isnan(mean) else mean
