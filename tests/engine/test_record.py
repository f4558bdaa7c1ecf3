"""Sweep and test records (paint_lightning/engine/record.py) from small hand-made counts."""

from __future__ import annotations

import math

import pytest
import torch

from paint_lightning.engine import record as records
from paint_lightning.engine.counts import Counts, TaskCounts, curves_of
from paint_lightning.engine.record import at_alpha, final_table, run_report, summary_line, sweep_record
from paint_lightning.engine.sweep_settings import SweepSettings
from paint_lightning.interpolation.mix import Mix
from paint_lightning.selection.uncertainty import wilson_interval

ALPHAS = [0.0, 0.5, 1.0]
ROLES = {"p": "patch", "s": "support", "t": "transfer"}
TOTAL = {"p": 200, "s": 100, "t": 50}
# Correct per alpha 0, 0.5, 1: p 50% 80% 90%, s 90% 85% 60%, t 50% 60% 70%.
CORRECT = {"p": [100, 160, 180], "s": [90, 85, 60], "t": [25, 30, 35]}
# Summed cross-entropy of p only (s and t were not measured): mean 0.8, 0.5, 0.4.
LOSS = [160.0, 100.0, 80.0]


def _table(alphas: list[float] = ALPHAS) -> dict[Mix, TaskCounts]:
    return {
        Mix.of(a): TaskCounts({n: c[i] for n, c in CORRECT.items()}, dict(TOTAL), {"p": LOSS[i]})
        for i, a in enumerate(alphas)
    }


def curves(table: dict[Mix, TaskCounts], roles: dict[str, str], alphas: list[float]):
    """The sweep's curves at ``alphas`` (the support tasks' zero-shot from alpha 0)."""
    return curves_of([table[Mix.of(a)] for a in alphas], table[Mix.of(0.0)], roles, alphas)


def _se(correct: int, total: int) -> float:
    p = correct / total
    return 100 * math.sqrt(p * (1 - p) / total)


def test_curves_split_the_tasks_by_role_and_take_zero_shot_from_alpha_zero() -> None:
    sweep = curves(_table(), ROLES, ALPHAS)
    assert list(sweep.alphas) == ALPHAS
    assert sweep.patch == {"p": [50.0, 80.0, 90.0]}
    assert sweep.support == {"s": [90.0, 85.0, 60.0]}
    assert sweep.zero_shot_support == {"s": 90.0}  # transfer tasks are neither
    # A sub-grid still takes the support tasks' zero-shot accuracy from the alpha = 0 row.
    part = curves(_table(), ROLES, [1.0, 0.5])
    assert part.patch == {"p": [90.0, 80.0]} and part.zero_shot_support == {"s": 90.0}
    with pytest.raises(KeyError):
        curves(_table(), ROLES, [0.25])


def test_sweep_record_under_the_mean_criterion() -> None:
    record = sweep_record(ALPHAS, ROLES, _table(), SweepSettings(alphas=tuple(ALPHAS)))
    # (patch + support) / 2: 70, 82.5, 75 -> alpha* = 0.5; transfer tasks never count.
    assert record["alphas"] == ALPHAS and record["selected_alpha"] == 0.5
    assert record["objective"] == [70.0, 82.5, 75.0]
    assert record["criterion"] == "max mean(patch accuracy, support accuracy)"
    assert record["limits"] is None and record["start_name"] == "zero-shot"
    assert record["patch_accuracy"] == [50.0, 80.0, 90.0]
    assert record["support_accuracy"] == [90.0, 85.0, 60.0]
    # At alpha*: the standard errors of the patch and support means halved in quadrature.
    se_p, se_s = _se(160, 200), _se(85, 100)
    assert record["objective_stderr"] == pytest.approx(0.5 * math.hypot(se_p, se_s))
    low_p, high_p = wilson_interval(160, 200)
    low_s, high_s = wilson_interval(85, 100)
    assert record["objective_interval"] == pytest.approx(
        [82.5 - 0.5 * math.hypot(80 - low_p, 85 - low_s), 82.5 + 0.5 * math.hypot(high_p - 80, high_s - 85)]
    )
    assert record["selected_alpha"] in record["tied_alphas"]
    assert record["alpha_interval"] == [min(record["tied_alphas"]), max(record["tied_alphas"])]
    assert {"paired_test", "required_heldout", "warnings"} <= set(record)
    assert "noise" not in record  # popped: its spread becomes a warning


def test_sweep_record_tasks_carry_every_alpha() -> None:
    tasks = sweep_record(ALPHAS, ROLES, _table(), SweepSettings(alphas=tuple(ALPHAS)))["tasks"]
    assert list(tasks) == ["p", "s", "t"]
    p, t = tasks["p"], tasks["t"]
    assert p["role"] == "patch" and tasks["s"]["role"] == "support" and t["role"] == "transfer"
    assert p["accuracy"] == [50.0, 80.0, 90.0] and t["accuracy"] == [50.0, 60.0, 70.0]
    assert p["stderr"] == pytest.approx([_se(c, 200) for c in CORRECT["p"]])
    assert p["interval"] == [list(wilson_interval(c, 200)) for c in CORRECT["p"]]
    assert p["loss"] == pytest.approx([0.8, 0.5, 0.4]) and t["loss"] == [None, None, None]
    assert (p["num_examples"], tasks["s"]["num_examples"], t["num_examples"]) == (200, 100, 50)
    assert (p["zero_shot"], p["fine_tuned"], p["fine_tuned_loss"]) == (50.0, 90.0, pytest.approx(0.4))
    assert (t["zero_shot"], t["fine_tuned"], t["fine_tuned_loss"]) == (50.0, 70.0, None)


@pytest.mark.parametrize(
    ("limit", "selected", "scores", "drop", "held"),
    [(2.0, 0.0, [50.0, None, None], 0.0, True), (10.0, 0.5, [50.0, 80.0, None], 5.0, True)],
)
def test_sweep_record_under_a_constrained_criterion(limit, selected, scores, drop, held) -> None:
    settings = SweepSettings(alphas=tuple(ALPHAS), criterion="constrained", max_support_drop=limit, start_name="start")
    record = sweep_record(ALPHAS, ROLES, _table(), settings)
    # Support drops 0, 5, 30 points: infeasible alphas score None; alpha* maximises patch accuracy.
    assert record["selected_alpha"] == selected and record["objective"] == scores
    assert record["limits"] == {"support": {"of": "each", "limit": limit, "drop": drop, "held": held}, "tasks": {}}
    assert record["criterion"] == f"max patch accuracy with every support task within {limit:g} points of start"
    assert record["start_name"] == "start"
    index = ALPHAS.index(selected)
    assert record["objective_stderr"] == pytest.approx(_se(CORRECT["p"][index], 200))  # the patch mean's own


def test_sweep_record_without_support_tasks() -> None:
    roles = {"p": "patch"}
    record = sweep_record(ALPHAS, roles, _table(), SweepSettings(alphas=tuple(ALPHAS)))
    assert record["selected_alpha"] == 1.0 and record["objective"] == [50.0, 80.0, 90.0]
    assert record["support_accuracy"] == [None, None, None] and list(record["tasks"]) == ["p"]
    assert record["objective_interval"] == pytest.approx(list(wilson_interval(180, 200)))


def test_a_pass_of_counts_and_hand_made_task_counts_give_the_same_curves() -> None:
    mixes = [Mix.of(a) for a in ALPHAS]
    counts = Counts.zeros(list(ROLES), mixes)
    counts.total[:] = torch.tensor([TOTAL[n] for n in ROLES])
    counts.correct[:] = torch.tensor([CORRECT[n] for n in ROLES])
    counts.loss[0] = torch.tensor(LOSS, dtype=torch.float64)
    from_counts = sweep_record(ALPHAS, ROLES, {m: counts.column(m) for m in mixes}, SweepSettings(alphas=(0, 0.5, 1)))
    by_hand = sweep_record(ALPHAS, ROLES, _table(), SweepSettings(alphas=tuple(ALPHAS)))
    for key in ("selected_alpha", "objective", "objective_stderr", "objective_interval", "patch_accuracy"):
        assert from_counts[key] == by_hand[key], key
    assert from_counts["tasks"]["p"]["accuracy"] == by_hand["tasks"]["p"]["accuracy"]
    assert from_counts["tasks"]["s"]["loss"] == [0.0, 0.0, 0.0]  # measured (as zeros) in a pass


def test_at_alpha_and_the_summary_line_read_the_record() -> None:
    record = sweep_record(ALPHAS, ROLES, _table(), SweepSettings(alphas=tuple(ALPHAS)))
    assert at_alpha(record, 0.5) == {"p": 80.0, "s": 85.0, "t": 60.0}
    assert at_alpha(record, 1.0) == {"p": 90.0, "s": 60.0, "t": 70.0}
    with pytest.raises(ValueError):
        at_alpha(record, 0.25)
    line = summary_line({**record, "tied_alphas": [0.5]})
    low, high = wilson_interval(160, 200)
    t_low, t_high = wilson_interval(30, 50)
    assert line.startswith(f"alpha* = 0.5: patch 80.00% [{low:.2f}, {high:.2f}], support 85.00% [")
    assert line.endswith(f"transfer 60.00% [{t_low:.2f}, {t_high:.2f}] (t 60.00)")
    tied = summary_line({**record, "tied_alphas": [0.5, 1.0]})
    assert tied.endswith("(alphas 0.5-1 cannot be told apart from alpha* on these held-out images)")


def test_test_record_has_three_columns_per_task() -> None:
    result = records.test_record(ROLES, _table(), 0.5)
    assert result["alpha"] == 0.5 and list(result["tasks"]) == ["p", "s", "t"]
    row = result["tasks"]["s"]
    assert (row["role"], row["zero_shot"], row["fine_tuned"], row["patched"]) == ("support", 90.0, 60.0, 85.0)
    assert row["num_examples"] == 100
    expected_se = {"zero_shot": _se(90, 100), "fine_tuned": _se(60, 100), "patched": _se(85, 100)}
    assert row["stderr"] == pytest.approx(expected_se)
    assert row["interval"] == {
        "zero_shot": list(wilson_interval(90, 100)),
        "fine_tuned": list(wilson_interval(60, 100)),
        "patched": list(wilson_interval(85, 100)),
    }
    # Before alpha* is known: the patched column is empty, the others are filled.
    early = records.test_record(ROLES, _table(), None)["tasks"]["p"]
    assert early["patched"] is None and early["stderr"]["patched"] is None and early["interval"]["patched"] is None
    assert (early["zero_shot"], early["fine_tuned"]) == (50.0, 90.0)


def test_final_table_lists_tasks_then_each_roles_mean() -> None:
    rows = records.test_record({"p": "patch", "q": "patch", "s": "support"}, _table_with_q(), 0.5)["tasks"]
    lines = final_table(rows, 0.5, "test").splitlines()
    assert lines[0] == "PAINT result on the test splits (alpha* = 0.5; test accuracy, %)"
    firsts = [line.split()[:2] for line in lines[2:-1]]
    assert firsts == [["p", "patch"], ["q", "patch"], ["s", "support"], ["mean", "patch"], ["mean", "support"]]
    # (50 + 70) / 2, (90 + 50) / 2, (80 + 70) / 2; normalised: (80 / 90 + 70 / 50) / 2 = (88.89 + 140) / 2
    assert lines[5].split()[2:] == ["60.00", "70.00", "75.00", "114.44"]
    assert lines[-1].startswith("normalised: patched / fine-tuned on patch tasks, patched / zero-shot on support")
    assert rows["p"]["normalised"] == pytest.approx(100 * 80 / 90) and rows["p"]["normalised_to"] == "fine_tuned"
    assert rows["s"]["normalised_to"] == "zero_shot" and rows["s"]["normalised"] == pytest.approx(
        100 * rows["s"]["patched"] / rows["s"]["zero_shot"]
    )


def _table_with_q() -> dict[Mix, TaskCounts]:
    table = _table()
    for i, a in enumerate(ALPHAS):
        table[Mix.of(a)].correct["q"] = [70, 70, 50][i]
        table[Mix.of(a)].total["q"] = 100
    return table


# Curves and the run report from a two-task sweep (patch p, support s).
PQ_ROLES = {"p": "patch", "s": "support"}
PQ_ALPHAS = [0.0, 0.5, 1.0]


def _pq_table(patch: list[int], support: list[int]) -> dict[Mix, TaskCounts]:
    return {
        Mix.of(a): TaskCounts({"p": patch[i], "s": support[i]}, {"p": 10, "s": 20}) for i, a in enumerate(PQ_ALPHAS)
    }


def _pq_sweep(patch: list[int], support: list[int], step: int) -> tuple[dict, dict[Mix, TaskCounts]]:
    table = _pq_table(patch, support)
    record = sweep_record(PQ_ALPHAS, PQ_ROLES, table, SweepSettings(alphas=tuple(PQ_ALPHAS), criterion="mean"))
    return {"epoch": step, "global_step": 10 * step, **record}, table


def test_curves_of_counts_split_patch_and_support_and_keep_the_zero_shot_reference() -> None:
    table = _pq_table([2, 6, 9], [18, 16, 10])
    columns = [table[Mix.of(a)] for a in PQ_ALPHAS]
    curves = curves_of(columns, table[Mix.of(0.0)], PQ_ROLES, PQ_ALPHAS)
    assert curves.alphas == PQ_ALPHAS
    assert curves.patch == {"p": [20.0, 60.0, 90.0]} and curves.support == {"s": [90.0, 80.0, 50.0]}
    assert curves.zero_shot_support == {"s": 90.0}
    assert curves_of(columns[1:], table[Mix.of(0.0)], PQ_ROLES).alphas == [0, 1]  # positions, for mixes


def test_run_report_is_the_latest_sweep_with_alpha_star_per_sweep_and_the_test() -> None:
    first, _ = _pq_sweep([2, 9, 9], [18, 10, 10], step=0)
    latest, _ = _pq_sweep([2, 6, 9], [18, 18, 10], step=1)
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
    table = {Mix.of(a): TaskCounts({"p": i + 1}, {"p": 4}) for i, a in enumerate(PQ_ALPHAS)}
    record = sweep_record(PQ_ALPHAS, {"p": "patch"}, table, SweepSettings(alphas=tuple(PQ_ALPHAS)))
    assert record["support_accuracy"] == [None, None, None]
    assert record["patch_accuracy"] == pytest.approx([25.0, 50.0, 75.0])
