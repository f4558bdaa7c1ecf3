"""Cheap live sweeps: the budget schedules intermediate sweeps, which are partial; the last is the full search."""

import hashlib
import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback
from lightning.pytorch.callbacks import ModelCheckpoint

from paint_lightning import InterpolationSweep
from paint_lightning.data.cache import TensorDataset, thinned
from paint_lightning.engine.record import run_report
from paint_lightning.engine.sweep_schedule import SweepBudget, coarse_alphas, should_sweep
from paint_lightning.models.run_files import selected_mix
from tests.callbacks.helpers import fit_tiny

GRID = [round(0.1 * i, 1) for i in range(11)]
ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]


# -- the schedule, with injected costs ---------------------------------------------------------


def _simulate(max_fraction, epoch_seconds, sweep_seconds, epochs):
    """Epochs whose sweep runs: training takes ``epoch_seconds`` per epoch, each sweep ``sweep_seconds``."""
    budget = SweepBudget(max_fraction)
    ran = []
    for epoch in range(epochs):
        budget.train_seconds += epoch_seconds
        final = epoch == epochs - 1
        run = budget.allows(final)
        budget.skipped += not run
        if run:
            ran.append(epoch)
            if not final:
                budget.charge(sweep_seconds)
    return ran, budget


def test_the_budget_skips_sweeps_it_cannot_afford_and_always_runs_the_last() -> None:
    # 3 s of training per epoch, 2 s per live sweep, a quarter of the training time: the first runs
    # (its cost is what the budget learns), then one whenever 0.25 x training covers the sweeps so far + the next.
    ran, budget = _simulate(0.25, 3.0, 2.0, 15)
    assert ran == [0, 5, 7, 10, 13, 14]
    assert budget.skipped == 9 and budget.sweep_seconds == 10.0 and budget.train_seconds == 45.0
    assert budget.sweep_seconds <= 0.25 * budget.train_seconds
    # A sweep dearer than the whole budget: the first, then only the last.
    assert _simulate(0.25, 3.0, 100.0, 15)[0] == [0, 14]
    assert _simulate(0.0, 3.0, 2.0, 15)[0] == [14]  # 0: the last sweep only
    assert _simulate(None, 3.0, 100.0, 4)[0] == [0, 1, 2, 3]  # no budget: every scheduled sweep


def test_should_sweep_is_a_pure_rule() -> None:
    assert should_sweep(True, 0.0, 0.0, 1e9, 1e9)  # the last sweep always runs
    assert should_sweep(False, None, 0.0, 1e9, 1e9)
    assert should_sweep(False, 0.5, 10.0, 2.0, 3.0)  # 2 + 3 <= 5
    assert not should_sweep(False, 0.5, 10.0, 2.0, 3.1)
    assert should_sweep(False, 0.5, 10.0, 0.0, None)  # nothing measured yet: the first runs


def test_budget_state_round_trips_and_refuses_a_negative_share() -> None:
    budget = SweepBudget(0.25, train_seconds=30.0, sweep_seconds=6.0, last_cost=2.0, skipped=3)
    again = SweepBudget(0.25)
    again.restore(budget.state())
    assert again == budget
    with pytest.raises(ValueError, match=r"sweep.max_fraction=-0.1"):
        SweepBudget(-0.1)


def test_coarse_alphas_are_the_ends_and_the_latest_alpha_star_with_its_neighbours() -> None:
    assert coarse_alphas(GRID, None) == [0.0, 0.4, 0.5, 0.6, 1.0]  # no sweep yet: the middle
    assert coarse_alphas(GRID, 0.3) == [0.0, 0.2, 0.3, 0.4, 1.0]
    assert coarse_alphas(GRID, 0.45) == [0.0, 0.4, 0.45, 0.5, 1.0]  # an adaptive alpha* between grid points
    assert coarse_alphas(GRID, 0.0) == [0.0, 0.1, 1.0]
    assert coarse_alphas(GRID, 1.0) == [0.0, 0.9, 1.0]
    assert coarse_alphas([0.0, 1.0], 0.0) == [0.0, 1.0]


def test_thinned_takes_every_kth_image_and_leaves_small_sets_alone() -> None:
    data = TensorDataset(torch.arange(10).view(10, 1), torch.arange(10))
    assert thinned(data, None) is data and thinned(data, 10) is data
    assert thinned(data, 5).labels.tolist() == [0, 2, 4, 6, 8]
    assert thinned(data, 4).labels.tolist() == [0, 3, 6, 9]
    assert [int(label) for _, label in thinned(list(zip(range(10), range(10), strict=True)), 3)] == [0, 4, 8]


# -- in a fit ----------------------------------------------------------------------------------


class _Clock:
    """A clock that moves only when told: training batches and sweeps cost what the test says."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Trains(Callback):
    def __init__(self, clock: _Clock, seconds: float) -> None:
        self.clock, self.seconds = clock, seconds

    def on_train_batch_end(self, *args, **kwargs) -> None:
        self.clock.now += self.seconds


def _costly(sweep: InterpolationSweep, clock: _Clock, seconds: float) -> InterpolationSweep:
    """Makes every sweep of ``sweep`` cost ``seconds`` on ``clock``."""
    original = sweep.sweep

    def sweep_and_charge(*args, **kwargs):
        clock.now += seconds
        return original(*args, **kwargs)

    sweep.sweep = sweep_and_charge
    sweep.live.clock = clock
    return sweep


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _report(trainer) -> dict:
    return json.loads((Path(trainer.log_dir) / "paint_report.json").read_text())


def test_intermediate_sweeps_are_partial_and_the_last_equals_a_run_with_only_the_last(tmp_path) -> None:
    live = InterpolationSweep(alphas=ALPHAS, max_fraction=None, intermediate_images=5, final_test=False)
    trainer, *_ = fit_tiny(tmp_path / "live", [live], epochs=3)
    only_last = InterpolationSweep(alphas=ALPHAS, every_n_epochs=3, final_test=False)
    trainer_last, *_ = fit_tiny(tmp_path / "last", [only_last], epochs=3)

    first, second, last = live.history
    assert first["alphas"] == [0.0, 0.25, 0.5, 0.75, 1.0]  # ends + the middle and its neighbours (all 5 here)
    assert second["alphas"] == coarse_alphas(ALPHAS, first["selected_alpha"])
    for record in (first, second):
        note = record["partial"]
        assert note["alphas"] == len(record["alphas"]) and note["grid_alphas"] == len(ALPHAS)
        assert note["images"] == {"patches": [4, 16], "other": [5, 10]}  # every 4th / 2nd held-out image
        assert {name: task["num_examples"] for name, task in record["tasks"].items()} == {"patches": 4, "other": 5}
    assert "partial" not in last and only_last.history[-1].keys() == last.keys()
    assert last == only_last.history[-1]  # the same full search: alpha*, curves, paired statistics
    report, report_last = _report(trainer), _report(trainer_last)
    assert [h["partial"] for h in report["history"]] == [True, True, False]
    assert report.pop("history")[-1] == report_last.pop("history")[-1]
    assert report == report_last
    assert _sha(Path(trainer.log_dir) / "patched.safetensors") == _sha(
        Path(trainer_last.log_dir) / "patched.safetensors"
    )
    # nothing downstream takes a partial sweep for the run's choice
    assert selected_mix(None, {"callbacks": {"InterpolationSweep": {"history": [first]}}}) is None
    partial_report = run_report([first], {}, None)
    assert partial_report["partial"] == first["partial"] and selected_mix(partial_report) is None
    assert partial_report["zero_shot"] == {name: task["zero_shot"] for name, task in first["tasks"].items()}


def test_the_budget_skips_live_sweeps_in_a_fit_by_their_measured_cost(tmp_path) -> None:
    clock = _Clock()
    sweep = _costly(InterpolationSweep(alphas=ALPHAS, max_fraction=0.5, final_test=False, export=False), clock, 4.0)
    fit_tiny(tmp_path, [sweep, _Trains(clock, 1.0)], epochs=4)
    batches = sweep.live.budget.train_seconds / 4  # 1 s per training batch
    assert batches >= 1
    ran = [record["epoch"] for record in sweep.history]
    expected, _ = _simulate(0.5, batches, 4.0, 4)
    assert ran == expected and ran[0] == 0 and ran[-1] == 3
    assert sweep.live.budget.skipped == 4 - len(ran) > 0
    assert [("partial" in record) for record in sweep.history] == [True] * (len(ran) - 1) + [False]


def test_resuming_with_another_schedule_gives_the_same_last_sweep(tmp_path) -> None:
    def sweep(**kwargs) -> InterpolationSweep:
        return InterpolationSweep(alphas=ALPHAS, final_test=False, intermediate_images=5, **kwargs)

    clean = sweep(max_fraction=None)
    checkpoints = ModelCheckpoint(tmp_path / "ckpt", save_top_k=-1)
    clean_trainer, *_ = fit_tiny(tmp_path / "clean", [clean, checkpoints], epochs=3, enable_checkpointing=True)
    first = sorted((tmp_path / "ckpt").glob("epoch=0*.ckpt"))[0]
    saved = torch.load(first, map_location="cpu", weights_only=True)["callbacks"]["InterpolationSweep"]
    assert saved["live_budget"]["sweep_seconds"] > 0 and len(saved["history"]) == 1  # the account goes along
    resumed = sweep(max_fraction=0.0)  # after the resume: no live sweep fits
    resumed_trainer, *_ = fit_tiny(tmp_path / "resumed", [resumed], epochs=3, ckpt_path=str(first))
    assert [record["epoch"] for record in clean.history] == [0, 1, 2]
    assert [record["epoch"] for record in resumed.history] == [0, 2]
    assert resumed.history[-1] == clean.history[-1]
    assert _sha(Path(resumed_trainer.log_dir) / "patched.safetensors") == _sha(
        Path(clean_trainer.log_dir) / "patched.safetensors"
    )


class _StopAfterFirstEpoch(Callback):
    """Asks the fit to stop after the sweep callback's epoch-end hook (as EarlyStopping may)."""

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        trainer.should_stop = True


def test_a_fit_stopped_right_after_a_partial_sweep_still_ends_with_the_full_one(tmp_path) -> None:
    sweep = InterpolationSweep(alphas=ALPHAS, intermediate_images=5, final_test=False, export=False)
    trainer, *_ = fit_tiny(tmp_path, [sweep, _StopAfterFirstEpoch()], epochs=3)
    first, last = sweep.history  # the same step: the partial one, then the full one at train end
    assert "partial" in first and "partial" not in last and first["global_step"] == last["global_step"]
    report = _report(trainer)
    assert "partial" not in report and report["alphas"] == ALPHAS
    assert [entry["partial"] for entry in report["history"]] == [True, False]
