"""The sweep evaluates, reports and exports the weights it says it does."""

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch import Callback
from lightning.pytorch.callbacks import ModelCheckpoint

from paint_lightning import InterpolationSweep
from paint_lightning.io.patched import load_patched
from tests.callbacks.helpers import fit_tiny
from tests.conftest import tiny_module


def _heldout_accuracy_and_loss(module, datamodule) -> dict[str, tuple[float, float]]:
    """Plain evaluation of the module's live weights on every held-out set."""
    module.eval()
    out = {}
    with torch.no_grad():
        for spec in module.task_specs:
            images, labels = zip(
                *[datamodule.heldout_sets[spec.name][i] for i in range(len(datamodule.heldout_sets[spec.name]))],
                strict=True,
            )
            logits = module(torch.stack(images), spec.name)
            labels = torch.as_tensor(labels)
            accuracy = 100.0 * (logits.argmax(-1) == labels).float().mean().item()
            out[spec.name] = (accuracy, F.cross_entropy(logits.double(), labels).item())
    return out


def test_fine_tuned_reference_is_alpha_one_even_when_the_grid_lacks_it(tmp_path) -> None:
    sweep = InterpolationSweep(alphas=[0.0, 0.25, 0.5], final_test=False)
    trainer, module, datamodule = fit_tiny(tmp_path, [sweep], epochs=2)
    truth = _heldout_accuracy_and_loss(module, datamodule)
    meta = json.loads((Path(trainer.log_dir) / "patched.json").read_text())
    report = json.loads((Path(trainer.log_dir) / "paint_report.json").read_text())
    at_half = {name: task["accuracy"][-1] for name, task in report["tasks"].items()}
    assert any(at_half[name] != truth[name][0] for name in truth)  # 0.5 and 1.0 differ: the test can fail
    for name, (accuracy, _) in truth.items():
        assert meta["tasks"][name]["heldout_accuracy"]["fine_tuned"] == pytest.approx(accuracy)
        assert report["fine_tuned"][name] == pytest.approx(accuracy)


def test_heldout_accuracies_come_with_standard_errors_and_small_sets_are_flagged(tmp_path) -> None:
    sweep = InterpolationSweep(alphas=[0.0, 0.5, 1.0], final_test=False, export=False)
    trainer, _, _ = fit_tiny(tmp_path, [sweep], epochs=1)
    report = json.loads((Path(trainer.log_dir) / "paint_report.json").read_text())
    for task in report["tasks"].values():
        n = task["num_examples"]
        for accuracy, stderr in zip(task["accuracy"], task["stderr"], strict=True):
            p = accuracy / 100.0
            assert stderr == pytest.approx(100.0 * math.sqrt(p * (1 - p) / n))
    assert report["selected_alpha"] in report["tied_alphas"] and report["objective_stderr"] > 0
    # 16 and 10 held-out images cannot tell these alphas apart: the report says so
    assert report["warnings"] and "noise" in report["warnings"][0]


class _KeepRawWeights(Callback):
    """Saves the trained (not averaged) tower before WeightAveraging swaps the average in."""

    def on_train_end(self, trainer, pl_module) -> None:
        self.raw = {k: v.clone() for k, v in pl_module.clip.visual.state_dict().items()}


def test_weight_averaging_is_swept_and_exported_with_the_averaged_weights(tmp_path) -> None:
    from lightning.pytorch.callbacks import WeightAveraging
    from torch.optim.swa_utils import get_ema_avg_fn

    raw = _KeepRawWeights()
    sweep = InterpolationSweep(alphas=[0.0, 0.5, 1.0], final_test=False)
    trainer, module, datamodule = fit_tiny(tmp_path, [raw, WeightAveraging(avg_fn=get_ema_avg_fn(0.5)), sweep])
    averaged = _heldout_accuracy_and_loss(module, datamodule)  # WeightAveraging left the average in place
    module.clip.visual.load_state_dict(raw.raw)
    trained = _heldout_accuracy_and_loss(module, datamodule)
    record = sweep.history[-1]
    for name, (accuracy, loss) in averaged.items():
        assert abs(trained[name][1] - loss) > 1e-4  # raw and averaged weights differ: the test can fail
        assert record["tasks"][name]["fine_tuned"] == pytest.approx(accuracy)
        assert record["tasks"][name]["fine_tuned_loss"] == pytest.approx(loss, rel=1e-9)
    # the exported model is the average patched at alpha*, not the raw weights patched
    exported, meta = load_patched(Path(trainer.log_dir))
    start = module.start_point.tower.state_dict()
    for key, value in exported.items():
        if key.startswith("visual."):
            name = key[len("visual.") :]
            trained_value = raw.raw[name]
            assert torch.equal(value, torch.lerp(start[name], _averaged(trainer, name), meta["alpha"]))
            if meta["alpha"] > 0 and value.is_floating_point():
                assert not torch.equal(value, torch.lerp(start[name], trained_value, meta["alpha"])) or name.endswith(
                    "bias"
                )


def _averaged(trainer, name: str) -> torch.Tensor:
    from lightning.pytorch.callbacks import WeightAveraging

    callback = next(c for c in trainer.callbacks if isinstance(c, WeightAveraging))
    return callback._average_model.module.clip.visual.state_dict()[name]


def test_bf16_true_keeps_the_start_point_exact(tmp_path) -> None:
    initial = {k: v.clone() for k, v in tiny_module(seed=0).clip.visual.state_dict().items()}
    checkpoint = ModelCheckpoint(tmp_path / "ckpt")
    sweep = InterpolationSweep(alphas=[0.0, 1.0], final_test=False, export=False)
    fit_tiny(tmp_path, [sweep, checkpoint], epochs=1, precision="bf16-true", enable_checkpointing=True)
    state = torch.load(checkpoint.best_model_path, weights_only=True)["state_dict"]
    prefixes = ("start_point.tower.", "zero_shot_visual.")
    start = {
        k.split(".", 2 if k.startswith("start_point") else 1)[-1]: v for k, v in state.items() if k.startswith(prefixes)
    }
    assert set(start) == set(initial)
    for name, value in initial.items():
        assert start[name].dtype == value.dtype and torch.equal(start[name], value), name
    assert state["clip.visual.conv1.weight"].dtype == torch.bfloat16  # the live tower did train in bf16
