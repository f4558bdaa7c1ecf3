"""The sweep's two figures, for every logger that takes images.

Drawn to be read where a dashboard shrinks them to a card about 330 pixels wide (TensorBoard's
Images tab without "actual size"): large text on a small canvas (6 x 4 inches, 14-15 pt), at
200 dpi so that "actual size" (1200 x 800 pixels) is sharp.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from paint_lightning.engine.sweep_schedule import partial_text
from paint_lightning.interpolation.mix import rounded

ROLE_STYLE = {"patch": "-", "support": "--"}
DPI = 200
FONT = 14
SIZE = (6, 4)


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
    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI)
    for name, task in record["tasks"].items():
        style = ROLE_STYLE.get(task["role"], ":")
        ax.plot(
            alphas, task["accuracy"], style, marker="o", markersize=5, linewidth=2, label=f"{name} ({task['role']})"
        )
    ax.axvline(selected, color="black", linestyle=":", linewidth=1.5, label=f"alpha* = {selected:g}")
    ax.set_xlabel("alpha (0 = zero-shot, 1 = fine-tuned)", fontsize=FONT)
    ax.set_ylabel("held-out accuracy (%)", fontsize=FONT)
    ax.tick_params(labelsize=FONT - 1)
    ax.set_xlim(min(alphas) - 0.02, max(alphas) + 0.02)
    ax.grid(alpha=0.3)
    criterion = textwrap.fill(f"alpha* = {selected:g}: {record['criterion']}", 42)
    fig.suptitle(f"{_title(record, 'Held-out accuracy vs alpha')}\n{criterion}", fontsize=FONT + 1)
    ax.legend(fontsize=FONT - 3, loc="best", framealpha=0.8)
    fig.tight_layout()
    return fig


def tradeoff_figure(record: Mapping[str, Any]) -> Any:
    """Mean patch vs mean support accuracy over alpha; every alpha labelled, alpha* starred."""
    plt = _pyplot()
    alphas = record["alphas"]
    index = alphas.index(record["selected_alpha"])
    support, patch = record["support_accuracy"], record["patch_accuracy"]
    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI)
    ax.plot(support, patch, "-o", color="tab:blue", markersize=5, linewidth=2, label="interpolation (alpha 0 to 1)")
    for (x, y), at in coincident_labels(alphas, support, patch).items():
        ax.annotate(at, (x, y), textcoords="offset points", xytext=(6, -4), fontsize=FONT - 1)
    ax.plot([support[index]], [patch[index]], "*", color="tab:red", markersize=18, label=f"alpha* = {alphas[index]:g}")
    if 0.0 in alphas:
        i = alphas.index(0.0)
        ax.plot([support[i]], [patch[i]], "s", color="grey", markersize=9, label="zero-shot (alpha 0)")
    if 1.0 in alphas:
        i = alphas.index(1.0)
        ax.plot([support[i]], [patch[i]], "^", color="black", markersize=9, label="fine-tuned (alpha 1)")
    ax.set_xlabel("mean support accuracy (%, held-out)", fontsize=FONT)
    ax.set_ylabel("mean patch accuracy (%, held-out)", fontsize=FONT)
    ax.tick_params(labelsize=FONT - 1)
    ax.grid(alpha=0.3)
    ax.set_title(_title(record, "Patch vs support trade-off"), fontsize=FONT + 1)
    ax.legend(fontsize=FONT - 3, loc="best")
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


def has_tradeoff(record: Mapping[str, Any]) -> bool:
    """Whether the record has support tasks (the trade-off figure needs them)."""
    index = record["alphas"].index(record["selected_alpha"])
    return record["support_accuracy"][index] is not None
