import json
from pathlib import Path

import open_clip
import pytest
import torch
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint

from paint_lightning import InterpolationSweep
from paint_lightning.io.patched import IntegrityError, load_patched, load_patched_model
from paint_lightning.selection import SweepCurves, select_alpha
from tests.callbacks.helpers import fit_tiny
from tests.conftest import tiny_datamodule, tiny_module

ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    sweep = InterpolationSweep(alphas=ALPHAS, max_fraction=None)  # every epoch's sweep runs (the history below)
    checkpoint = ModelCheckpoint(dirpath=root / "ckpt", save_last=True)
    trainer, module, datamodule = fit_tiny(root, [sweep, checkpoint], epochs=3, enable_checkpointing=True)
    return trainer, module, datamodule, sweep, Path(trainer.log_dir)


def test_training_is_bit_for_bit_the_same_with_and_without_the_sweep(tmp_path) -> None:
    _, with_sweep, _ = fit_tiny(tmp_path / "a", [InterpolationSweep(alphas=ALPHAS, export=False)], epochs=2)
    _, without, _ = fit_tiny(tmp_path / "b", [], epochs=2)
    changed = False
    for (name, a), b in zip(
        with_sweep.clip.visual.state_dict().items(), without.clip.visual.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
        changed |= not torch.equal(a, with_sweep.start_point.tower.state_dict()[name])
    assert changed  # training did move the weights


class ValidationBatches(Callback):
    """Counts Lightning's validation batches by trainer function (fit, validate)."""

    def __init__(self) -> None:
        self.batches: dict[str, int] = {}

    def on_validation_batch_end(self, trainer, *args, **kwargs) -> None:
        self.batches[trainer.state.fn] = self.batches.get(trainer.state.fn, 0) + 1


def test_the_sweep_replaces_validation_in_fit_and_leaves_the_trainer_settings_alone(tmp_path, recwarn) -> None:
    counter = ValidationBatches()
    sweep = InterpolationSweep(alphas=ALPHAS, export=False, final_test=False)
    trainer, module, datamodule = fit_tiny(tmp_path, [sweep, counter], epochs=1, limit_val_batches=3)
    assert trainer.limit_val_batches == 3  # what the user gave
    assert counter.batches == {}  # no validation pass during fit: the sweep measured alpha = 1
    assert not [w for w in recwarn if "across ranks is zero" in str(w.message)]  # the console stays as it was
    assert "val/patches/acc" in trainer.callback_metrics
    results = trainer.validate(module, datamodule, verbose=False)
    assert counter.batches == {"validate": 2}  # one batch of each held-out set
    assert {"val/patches/acc", "val/other/acc"} <= {key for result in results for key in result}


def test_report_has_the_promised_shape(run) -> None:
    _trainer, _module, _, sweep, log_dir = run
    report = json.loads((log_dir / "paint_report.json").read_text())
    assert report["epoch"] == 2 and report["alphas"] == ALPHAS
    assert report["selected_alpha"] in ALPHAS and "mean" in report["criterion"]
    assert set(report["tasks"]) == {"patches", "other"}
    assert report["tasks"]["patches"]["role"] == "patch" and report["tasks"]["other"]["role"] == "support"
    for task in report["tasks"].values():
        assert len(task["accuracy"]) == len(ALPHAS) and all(0 <= a <= 100 for a in task["accuracy"])
    assert [h["epoch"] for h in report["history"]] == [0, 1, 2]
    assert report["zero_shot"]["patches"] == report["tasks"]["patches"]["accuracy"][0]
    assert set(report["test"]["tasks"]["patches"]) >= {"zero_shot", "fine_tuned", "patched"}
    # alpha* is what the criterion picks on the reported curves
    curves = SweepCurves(
        ALPHAS,
        {"patches": report["tasks"]["patches"]["accuracy"]},
        {"other": report["tasks"]["other"]["accuracy"]},
        {"other": report["zero_shot"]["other"]},
    )
    assert select_alpha(curves)[1] == report["selected_alpha"] == sweep.selected_alpha


def test_sweep_scalars_are_logged_for_monitoring(run) -> None:
    trainer, *_ = run
    metrics = trainer.callback_metrics
    assert {"paint/alpha_star", "paint/objective", "paint/patched/patches", "paint/zero_shot/other"} <= set(metrics)
    events = list(Path(trainer.log_dir).glob("events.out.tfevents.*"))
    assert events and max(e.stat().st_size for e in events) > 10_000  # figures went in


def test_exported_model_reloads_with_the_same_logits(run) -> None:
    _, module, _, sweep, log_dir = run
    model, meta = load_patched_model(log_dir / "patched.safetensors")
    assert meta["alpha"] == sweep.selected_alpha and meta["sha256"]
    assert meta["tasks"]["patches"]["classnames"] == ["class 0", "class 1", "class 2", "class 3"]
    probe = tiny_module().eval()
    probe.set_tasks(module.task_specs)
    probe.heads.load_state_dict(module.heads.state_dict())
    probe.clip.load_state_dict(module.patched_state_dict(sweep.selected_alpha))
    images = torch.randn(3, 3, 16, 16)
    features = torch.nn.functional.normalize(model.encode_image(images), dim=-1)
    assert torch.equal(features @ module.heads["patches"].t(), probe(images, "patches"))
    local = open_clip.create_model(f"local-dir:{log_dir}")
    assert torch.equal(local.encode_image(images), model.encode_image(images))


def test_tampered_export_is_refused(run, tmp_path) -> None:
    *_, log_dir = run
    copy = tmp_path / "patched.safetensors"
    data = bytearray((log_dir / "patched.safetensors").read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    (tmp_path / "patched.json").write_text((log_dir / "patched.json").read_text())
    with pytest.raises(IntegrityError, match="SHA-256"):
        load_patched(copy)


def test_checkpoint_is_weights_only_and_carries_the_zero_shot_snapshot(run, tmp_path) -> None:
    trainer, module, _, sweep, _ = run
    path = Path(trainer.checkpoint_callback.last_model_path)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint["state_dict"]
    assert any(k.startswith("start_point.tower.") for k in state) and "heads.patches" in state
    # a fresh module (different random init) tested from the checkpoint uses the saved snapshot
    fresh = tiny_module(seed=123)
    tester = Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        callbacks=[InterpolationSweep(alphas=ALPHAS)],
        default_root_dir=tmp_path,
    )
    tester.test(fresh, tiny_datamodule(), ckpt_path=str(path), weights_only=True)
    for a, b in zip(fresh.start_point.parameters(), module.start_point.parameters(), strict=True):
        assert torch.equal(a, b)
    result = tester.callbacks[0].test_result
    assert result["alpha"] == sweep.selected_alpha
    assert result["tasks"] == sweep.test_result["tasks"]


def test_adaptive_search_refines_around_the_best(tmp_path) -> None:
    sweep = InterpolationSweep(
        alphas=[0.0, 0.5, 1.0], search="adaptive", resolution=0.05, final_test=False, export=False
    )
    fit_tiny(tmp_path, [sweep], epochs=1)
    record = sweep.history[-1]
    assert len(record["alphas"]) > 3 and record["alphas"] == sorted(record["alphas"])
    steps = {round(b - a, 6) for a, b in zip(record["alphas"], record["alphas"][1:], strict=False)}
    assert min(steps) == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alphas": []}, "sweep.alphas is empty"),
        ({"alphas": [0.0, 1.5]}, "outside \\[0, 1\\].*allow_extrapolation"),
        ({"criterion": "constrained"}, "max_support_drop=None"),
        ({"every_n_epochs": 0}, "every_n_epochs=0"),
    ],
)
def test_bad_sweep_settings_name_the_field(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        InterpolationSweep(**kwargs)


def test_extrapolation_is_allowed_when_asked() -> None:
    assert InterpolationSweep(alphas=[0.0, 1.0, 1.5], allow_extrapolation=True).alphas == [0.0, 1.0, 1.5]


def test_a_per_task_limit_on_a_task_that_is_not_a_support_task_is_refused_before_training(tmp_path, capsys) -> None:
    from paint_lightning.commands.cli import main

    tiny = Path(__file__).resolve().parents[1] / "conf" / "tiny.yaml"
    limits = ["--sweep.criterion=constrained_mean", "--sweep.max_support_drop=1", "--sweep.max_task_drop={patches: 1}"]
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(tiny), *limits, f"--trainer.default_root_dir={tmp_path}"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "sweep.max_task_drop names ['patches'], which are not support tasks of this run" in err
    assert not list(tmp_path.rglob("*.ckpt"))  # refused before training
