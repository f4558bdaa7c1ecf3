"""Renders a run's TensorBoard dashboard to PNG files, as a person would see it.

Run from the repository root:
``python docs/workflows/render_dashboard.py lightning_logs/version_0 docs/workflows/img``

Writes ``alpha_curves.png`` and ``tradeoff.png`` (the figures the sweep logged last, exactly as
TensorBoard's Images tab shows them), ``custom_scalars.png`` (the Custom Scalars page drawn from
the layout and the scalars in the event files) and ``hparams.txt`` (the HParams tab's row).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util


def load(run: Path) -> EventAccumulator:
    """Every event of the run (images, scalars, tensors)."""
    return EventAccumulator(str(run), size_guidance={"images": 0, "scalars": 0, "tensors": 0}).Reload()


def save_images(events: EventAccumulator, out: Path) -> list[Path]:
    """The last logged alpha-curve and trade-off figures, byte for byte."""
    written = []
    for tag, name in (("paint/alpha_curves", "alpha_curves.png"), ("paint/tradeoff", "tradeoff.png")):
        if tag in events.Tags()["images"]:
            path = out / name
            path.write_bytes(events.Images(tag)[-1].encoded_image_string)
            written.append(path)
    return written


def layout(events: EventAccumulator) -> layout_pb2.Layout:
    """The custom-scalars layout the run wrote."""
    proto = layout_pb2.Layout()
    raw = tensor_util.make_ndarray(events.Tensors("custom_scalars__config__")[-1].tensor_proto).item()
    proto.ParseFromString(raw)
    return proto


def render_custom_scalars(events: EventAccumulator, out: Path) -> Path:
    """The Custom Scalars page: one panel per chart of the layout, every matching tag as a line."""
    charts = [(category.title, chart) for category in layout(events).category for chart in category.chart]
    tags = events.Tags()["scalars"]
    columns = 3
    rows = (len(charts) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.3 * rows), dpi=70, squeeze=False)
    alpha_star = events.Scalars("paint/alpha_star")[-1].value if "paint/alpha_star" in tags else None
    for ax, (category, chart) in zip(axes.flat, charts, strict=False):
        patterns = [re.compile(p) for p in chart.multiline.tag]
        for tag in sorted(t for t in tags if any(p.search(t) for p in patterns)):
            series = events.Scalars(tag)
            ax.plot([e.step for e in series], [e.value for e in series], marker="o", markersize=2.5, label=tag)
        final = "alpha x 100" in chart.title
        if final and alpha_star is not None:
            ax.axvline(alpha_star * 100, color="black", linestyle=":", label=f"alpha* = {alpha_star:g}")
        ax.set_title(f"{category}: {chart.title}", fontsize=8)
        ax.set_xlabel("alpha x 100" if final else "training step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(charts) :]:
        ax.axis("off")
    fig.tight_layout()
    path = out / "custom_scalars.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def hparams_row(events: EventAccumulator) -> str:
    """The HParams tab's row: hyperparameters and final metrics, as text."""
    content = events.PluginTagToContent("hparams")
    data = plugin_data_pb2.HParamsPluginData()
    data.ParseFromString(content["_hparams_/session_start_info"])
    params = {k: v.ListFields()[0][1] if v.ListFields() else None for k, v in data.session_start_info.hparams.items()}
    metrics = {tag: events.Scalars(tag)[-1].value for tag in events.Tags()["scalars"] if tag.startswith("final/")}
    lines = [f"{k} = {v}" for k, v in sorted(params.items())] + [f"{k} = {v:.2f}" for k, v in sorted(metrics.items())]
    return "\n".join(lines) + "\n"


def main(run: str, out: str) -> None:
    """Renders the dashboard of ``run`` into ``out``."""
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    events = load(Path(run))
    for path in [*save_images(events, target), render_custom_scalars(events, target)]:
        print(f"{path} ({path.stat().st_size // 1024} KiB)")
    (target / "hparams.txt").write_text(hparams_row(events))


if __name__ == "__main__":
    main(*sys.argv[1:3])
