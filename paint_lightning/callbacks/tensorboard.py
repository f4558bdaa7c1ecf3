"""The sweep in TensorBoard: accuracy-vs-alpha curves, the patch/support trade-off, a table."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger


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
