"""The report of a run and curves from counts (paint_lightning/engine/record.py, engine/counts.py)."""

import pytest

from paint_lightning.engine.counts import TaskCounts, curves_of
from paint_lightning.engine.record import run_report, sweep_record
from paint_lightning.engine.sweep_settings import SweepSettings
from paint_lightning.interpolation.mix import Mix

ROLES = {"p": "patch", "s": "support"}
ALPHAS = [0.0, 0.5, 1.0]


def _table(patch: list[int], support: list[int]) -> dict[Mix, TaskCounts]:
    return {Mix.of(a): TaskCounts({"p": patch[i], "s": support[i]}, {"p": 10, "s": 20}) for i, a in enumerate(ALPHAS)}


def _sweep(patch: list[int], support: list[int], step: int) -> tuple[dict, dict[Mix, TaskCounts]]:
    table = _table(patch, support)
    record = sweep_record(ALPHAS, ROLES, table, SweepSettings(alphas=tuple(ALPHAS), criterion="mean"))
    return {"epoch": step, "global_step": 10 * step, **record}, table


def test_curves_of_counts_split_patch_and_support_and_keep_the_zero_shot_reference() -> None:
    table = _table([2, 6, 9], [18, 16, 10])
    columns = [table[Mix.of(a)] for a in ALPHAS]
    curves = curves_of(columns, table[Mix.of(0.0)], ROLES, ALPHAS)
    assert curves.alphas == ALPHAS
    assert curves.patch == {"p": [20.0, 60.0, 90.0]} and curves.support == {"s": [90.0, 80.0, 50.0]}
    assert curves.zero_shot_support == {"s": 90.0}
    assert curves_of(columns[1:], table[Mix.of(0.0)], ROLES).alphas == [0, 1]  # positions, for mixes


def test_run_report_is_the_latest_sweep_with_alpha_star_per_sweep_and_the_test() -> None:
    first, _ = _sweep([2, 9, 9], [18, 10, 10], step=0)
    latest, _ = _sweep([2, 6, 9], [18, 18, 10], step=1)
    zero_shot = TaskCounts({"p": 3, "s": 17}, {"p": 10, "s": 20})
    report = run_report([first, latest], zero_shot.to_json(), {"alpha": latest["selected_alpha"]})
    assert report["selected_alpha"] == latest["selected_alpha"] == 0.5 and first["selected_alpha"] == 0.5
    assert report["zero_shot"] == {"p": 30.0, "s": 85.0}  # from the counts given, not the sweep's
    assert report["fine_tuned"] == {"p": 90.0, "s": 50.0}
    assert [h["global_step"] for h in report["history"]] == [0, 10]
    assert [h["patch_accuracy"] for h in report["history"]] == [90.0, 60.0]
    assert [h["support_accuracy"] for h in report["history"]] == [50.0, 90.0]
    assert report["test"] == {"alpha": 0.5}
    assert "test" not in run_report([latest], zero_shot.to_json(), None)


def test_a_role_without_tasks_has_no_mean_in_the_record() -> None:
    table = {Mix.of(a): TaskCounts({"p": i + 1}, {"p": 4}) for i, a in enumerate(ALPHAS)}
    record = sweep_record(ALPHAS, {"p": "patch"}, table, SweepSettings(alphas=tuple(ALPHAS)))
    assert record["support_accuracy"] == [None, None, None]
    assert record["patch_accuracy"] == pytest.approx([25.0, 50.0, 75.0])
