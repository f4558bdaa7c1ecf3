"""TensorBoard as a person sees it: one run per line, no one-point chart, the HParams row, the figures."""

import json
import re

import pytest
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.hparams import plugin_data_pb2

from paint_lightning.callbacks.sweep_figures import coincident_labels, curves_figure, tradeoff_figure

EVERYTHING = {"scalars": 0, "tensors": 0, "images": 0}


@pytest.fixture(scope="module")
def board(tiny_run):
    """Every run TensorBoard finds under the fit's folder, by run name (``.``: the logger's own)."""
    return EventMultiplexer(size_guidance=EVERYTHING).AddRunsFromDirectory(str(tiny_run)).Reload()


def _scalars(board, run, tag):
    return [(e.step, e.value) for e in board.Scalars(run, tag)]


def _report(tiny_run):
    return json.loads((tiny_run / "paint_report.json").read_text())


def test_hparams_row_holds_the_settings_that_matter_and_real_metric_columns(tiny_run, board):
    start = plugin_data_pb2.HParamsPluginData()
    start.ParseFromString(board.GetAccumulator(".").PluginTagToContent("hparams")["_hparams_/session_start_info"])
    params = start.session_start_info.hparams
    assert params["lr"].number_value == pytest.approx(0.01) and params["criterion"].string_value == "mean"
    assert params["tasks"].string_value == "patch: patches; support: other" and params["epochs"].number_value == 2
    assert sorted(params)[:5] == ["criterion", "epochs", "lr", "model", "tasks"]  # the five TensorBoard shows
    shown = {key: v.string_value or v.number_value for key, v in params.items()}
    assert not [k for k, v in shown.items() if v in ("None", "true", "false")], shown  # no true/None columns
    experiment = plugin_data_pb2.HParamsPluginData()
    experiment.ParseFromString(board.GetAccumulator(".").PluginTagToContent("hparams")["_hparams_/experiment"])
    columns = {(m.name.group, m.name.tag): m.display_name for m in experiment.experiment.metric_infos}
    report = _report(tiny_run)
    patched = report["test"]["tasks"]["patches"]["patched"]
    held_out = report["patch_accuracy"][report["alphas"].index(report["selected_alpha"])]
    expected = {"alpha*": report["selected_alpha"], "held-out patch %": held_out, "test patch % (patched)": patched}
    for (group, tag), title in columns.items():  # each column's value: the last scalar of its tag in its run
        value = _scalars(board, group or ".", tag)[-1][1]
        if title in expected:
            assert value == pytest.approx(expected.pop(title)), title
    assert not expected, f"columns missing: {expected}"


def test_scalars_page_has_no_one_point_chart_nor_hp_metric(board):
    points: dict[str, int] = {}
    for run, tags in board.Runs().items():
        for tag in tags["scalars"]:
            points[tag] = points.get(tag, 0) + len(board.Scalars(run, tag))
    assert "hp_metric" not in points and not [t for t in points if t.startswith("final/")]
    lonely = [t for t, n in points.items() if n < 2 and t != "epoch"]
    assert not lonely, f"one-point charts: {lonely}"


def test_every_custom_scalars_chart_draws_its_lines_from_separate_runs(tiny_run, board):
    from tensorboard.plugins.custom_scalar import layout_pb2
    from tensorboard.util import tensor_util

    own = board.GetAccumulator(".")
    layout = layout_pb2.Layout()
    layout.ParseFromString(tensor_util.make_ndarray(own.Tensors("custom_scalars__config__")[-1].tensor_proto).item())
    titles = [chart.title for category in layout.category for chart in category.chart]
    assert any(t.startswith("patches (patch)") for t in titles) and any(t.startswith("other (support)") for t in titles)
    runs = board.Runs()
    # TensorBoard gives its 7 colours to the runs in turn, in the order they started.
    colour = {run: i % 7 for i, run in enumerate(sorted(runs, key=board.FirstEventTimestamp))}
    for category in layout.category:
        for chart in category.chart:  # TensorBoard colours lines by run: a chart of several lines needs several runs
            drawn = {
                (run, tag)
                for run, tags in runs.items()
                for tag in tags["scalars"]
                if any(re.search(p, tag) for p in chart.multiline.tag)
            }
            assert drawn, chart.title
            assert len({run for run, _ in drawn}) == len(drawn), chart.title
            assert len({colour[run] for run, _ in drawn}) == len(drawn), chart.title  # told apart by colour
            assert len(drawn) >= 2 or chart.title.startswith("alpha*"), chart.title
    report = _report(tiny_run)
    curve = _scalars(board, "lines/curve_other", "final_sweep/task_accuracy")
    assert [step for step, _ in curve] == [round(a * 100) for a in report["alphas"]]
    assert [value for _, value in curve] == pytest.approx(report["tasks"]["other"]["accuracy"])


def test_figures_are_large_enough_to_read_in_a_card(board):
    image = board.Images(".", "paint/alpha_curves")[-1]
    assert image.width >= 1000 and image.height >= 600


def test_tradeoff_labels_do_not_pile_up_where_alphas_coincide():
    labels = coincident_labels([0.0, 0.5, 0.75, 1.0], [10.0, 20.0, 20.0, 20.0], [1.0, 2.0, 2.0, 2.0])
    assert labels == {(10.0, 1.0): "0", (20.0, 2.0): "0.5-1"}
    record = {
        "alphas": [0.0, 0.5, 1.0],
        "selected_alpha": 0.5,
        "criterion": "mean",
        "epoch": 3,
        "patch_accuracy": [10.0, 50.0, 60.0],
        "support_accuracy": [80.0, 79.0, 60.0],
        "tasks": {
            "a": {"role": "patch", "accuracy": [10.0, 50.0, 60.0]},
            "b": {"role": "support", "accuracy": [80.0, 79.0, 60.0]},
        },
    }
    curves, tradeoff = curves_figure(record), tradeoff_figure(record)
    legend = [t.get_text() for t in curves.axes[0].get_legend().get_texts()]
    assert legend == ["a (patch)", "b (support)", "alpha* = 0.5"]
    assert curves.axes[0].get_xlabel() == "alpha (0 = zero-shot, 1 = fine-tuned)"
    marks = [t.get_text() for t in tradeoff.axes[0].get_legend().get_texts()]
    assert marks[1:] == ["alpha* = 0.5", "zero-shot (alpha 0)", "fine-tuned (alpha 1)"]
