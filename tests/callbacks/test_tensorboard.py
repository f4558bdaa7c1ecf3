"""TensorBoard at a glance: the custom-scalars page, the HParams row and the figures of a fit run."""

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from paint_lightning.callbacks.tensorboard import coincident_labels, curves_figure, tradeoff_figure


def _events(run):
    return EventAccumulator(str(run), size_guidance={"scalars": 0, "tensors": 0, "images": 0}).Reload()


def test_hparams_row_holds_the_run_settings_and_its_final_metrics(tiny_run):
    events = _events(tiny_run)
    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData()
    start.ParseFromString(content["_hparams_/session_start_info"])  # the first one, which TensorBoard shows
    params = start.session_start_info.hparams
    assert params["model/lr"].number_value == pytest.approx(0.01) and params["sweep/criterion"].string_value == "mean"
    experiment = plugin_data_pb2.HParamsPluginData()
    experiment.ParseFromString(content["_hparams_/experiment"])
    metrics = {m.name.tag for m in experiment.experiment.metric_infos}
    assert {"final/alpha_star", "final/test_patch_patched", "final/heldout_support"} <= metrics
    assert "hp_metric" not in metrics
    report = json.loads((tiny_run / "paint_report.json").read_text())
    assert events.Scalars("final/alpha_star")[-1].value == pytest.approx(report["selected_alpha"])
    patched = report["test"]["tasks"]["patches"]["patched"]
    assert events.Scalars("final/test_patch_patched")[-1].value == pytest.approx(patched)


def test_custom_scalars_page_names_every_task_and_the_final_sweep(tiny_run):
    from tensorboard.plugins.custom_scalar import layout_pb2
    from tensorboard.util import tensor_util

    events = _events(tiny_run)
    layout = layout_pb2.Layout()
    layout.ParseFromString(tensor_util.make_ndarray(events.Tensors("custom_scalars__config__")[-1].tensor_proto).item())
    titles = [chart.title for category in layout.category for chart in category.chart]
    assert any(t.startswith("patches (patch)") for t in titles) and any(t.startswith("other (support)") for t in titles)
    tags = set(events.Tags()["scalars"])
    for category in layout.category:
        for chart in category.chart:  # every chart shows something
            import re

            assert any(re.search(p, t) for p in chart.multiline.tag for t in tags), chart.title
    report = json.loads((tiny_run / "paint_report.json").read_text())
    steps = [e.step for e in events.Scalars("final_sweep/task/other")]
    assert steps == [round(a * 100) for a in report["alphas"]]


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
