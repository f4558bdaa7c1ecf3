"""Wilson intervals: honest at 0% and 100%, and what they decide (ties, the "choice is noise" warnings)."""

import math

import pytest

from paint_lightning.engine import record as records
from paint_lightning.engine.alpha_sweep import SweepSettings
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.record import summary_line, sweep_record
from paint_lightning.interpolation.mix import Mix
from paint_lightning.selection.uncertainty import (
    Z,
    interval_text,
    mean_interval,
    mean_stderr,
    objective_interval,
    objective_stderr,
    selection_warnings,
    wilson_interval,
)


def test_wilson_interval_matches_hand_computed_values() -> None:
    # z = 1: centre (p + 1/2n) / (1 + 1/n), half-width (1 / (1 + 1/n)) sqrt(p (1 - p) / n + 1/4n^2).
    # 0/10: centre 0.05 / 1.1, half-width 0.05 / 1.1 -> [0, 0.1 / 1.1].
    assert wilson_interval(0, 10) == pytest.approx((0.0, 100 / 11))
    # 10/10: centre 1.05 / 1.1, half-width 0.05 / 1.1 -> [1 / 1.1, 1].
    assert wilson_interval(10, 10) == pytest.approx((1000 / 11, 100.0))
    # 5/10: centre 0.55 / 1.1 = 0.5, half-width sqrt(0.025 + 0.0025) / 1.1.
    half = 100 * math.sqrt(0.0275) / 1.1
    assert wilson_interval(5, 10) == pytest.approx((50 - half, 50 + half))
    # One image: 1/1 -> centre 0.75, half-width 0.25.
    assert wilson_interval(1, 1) == pytest.approx((50.0, 100.0))
    assert wilson_interval(0, 1) == pytest.approx((0.0, 50.0))
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_wilson_interval_is_one_standard_error_on_large_sets() -> None:
    low, high = wilson_interval(8000, 10000)
    se = 100 * math.sqrt(0.8 * 0.2 / 10000)
    assert (high - low) / 2 == pytest.approx(se, rel=1e-3)


def test_means_combine_each_side_in_quadrature() -> None:
    assert mean_interval([(50.0, 47.0, 53.0), (70.0, 66.0, 74.0)]) == pytest.approx((60.0, 57.5, 62.5))
    # One task: its own interval. The mean criterion halves the patch and support reaches.
    assert mean_interval([(100.0, 50.0, 100.0)]) == (100.0, 50.0, 100.0)
    value, low, high = objective_interval({"p": (80.0, 77.0, 83.0)}, {"s": (90.0, 86.0, 94.0)}, "mean")
    assert (value, value - low, high - value) == pytest.approx((85.0, 2.5, 2.5))
    assert objective_interval({"p": (80.0, 77.0, 83.0)}, {"s": (90.0, 86.0, 94.0)}, "constrained") == (80, 77, 83)


def test_the_objective_interval_halves_each_reach_in_quadrature_bit_for_bit() -> None:
    # Inputs where hypot and sqrt(a ** 2 + b ** 2) give ends that differ in the last bit: the pinned
    # formula is the one the reports have always used.
    patch, support = {"p": (1.0, 0.5, 3.9)}, {"s": (2.0, 0.55, 4.0)}
    value, low, high = objective_interval(patch, support, "mean")
    reach_below, reach_above = 0.5 * math.hypot(0.5, 2.0 - 0.55), 0.5 * math.hypot(3.9 - 1.0, 4.0 - 2.0)
    assert (value, low, high) == (1.5, 1.5 - reach_below, 1.5 + reach_above)
    assert low != 1.5 - 0.5 * math.sqrt(0.5**2 + (2.0 - 0.55) ** 2)
    # Several patch tasks: their mean interval first, then combined with the support mean.
    two = {"a": (50.0, 47.0, 53.0), "b": (70.0, 66.0, 74.0)}
    assert objective_interval(two, {"s": (60.0, 57.5, 62.5)}, "mean") == pytest.approx(
        (60.0, 60.0 - 0.5 * math.hypot(2.5, 2.5), 60.0 + 0.5 * math.hypot(2.5, 2.5))
    )
    # Without support tasks, or under a constrained criterion, it is the patch mean's own interval.
    assert objective_interval(two, {}, "mean") == mean_interval(two.values())
    assert objective_interval(two, {"s": (1.0, 0.0, 2.0)}, "constrained_mean") == mean_interval(two.values())


def test_the_objective_stderr_halves_the_means_in_quadrature_bit_for_bit() -> None:
    # 0.1 and 0.4: hypot would round differently; the reported number is 0.5 * sqrt(p * p + s * s).
    assert objective_stderr({"p": 0.1}, {"s": 0.4}, "mean") == 0.5 * math.sqrt(0.1 * 0.1 + 0.4 * 0.4)
    assert objective_stderr({"p": 0.1}, {"s": 0.4}, "mean") != 0.5 * math.hypot(0.1, 0.4)
    # Two patch tasks with 3 and 4: mean stderr 5 / 2; with a support stderr of 6 -> 0.5 * sqrt(6.25 + 36).
    assert objective_stderr({"a": 3.0, "b": 4.0}, {"s": 6.0}, "mean") == pytest.approx(0.5 * math.sqrt(42.25))
    assert objective_stderr({"a": 3.0, "b": 4.0}, {"s": 6.0}, "constrained") == 2.5
    assert objective_stderr({"a": 3.0, "b": 4.0}, {}, "mean") == 2.5


def test_mean_stderr_is_the_quadrature_sum_over_the_count() -> None:
    assert mean_stderr([3.0, 4.0]) == 2.5
    assert mean_stderr([1.5]) == 1.5
    assert mean_stderr(iter([2.0, 2.0, 2.0, 2.0])) == 1.0  # any iterable
    assert math.isnan(mean_stderr([]))
    assert all(math.isnan(v) for v in mean_interval([]))


def test_interval_text_shows_two_decimals() -> None:
    assert interval_text(81.4321, (77.9166, 84.4349)) == "81.43% [77.92, 84.43]"
    assert interval_text(100.0, (50.0, 100.0)) == "100.00% [50.00, 100.00]"


def test_selection_warnings_say_what_is_too_small() -> None:
    assert selection_warnings(None, None, None, {"p": 10}) == []
    assert selection_warnings(None, (80.0, 82.0), 1.0, {"p": 10, "s": 10}) == []  # ± 1.00 is within the limit
    noise = selection_warnings(0.1234, None, None, {"p": 40, "q": 7})
    assert len(noise) == 1
    assert "varies by 0.12 points" in noise[0] and "(smallest: 7 images of q)" in noise[0]
    assert f"z = {Z:g}, about 68%" in noise[0]
    drop = selection_warnings(None, (80.0, 83.0), 1.0, {"s": 5})
    assert len(drop) == 1 and "known to ± 1.50 points" in drop[0] and "[80.00, 83.00]" in drop[0]
    assert "more than the 1-point limit" in drop[0]
    assert selection_warnings(None, (80.0, 83.0), None, {"s": 5}) == []  # the mean criterion has no limit
    both = selection_warnings(0.5, (80.0, 83.0), 1.0, {})
    assert len(both) == 2 and "(smallest" not in both[0]


def _record(correct: dict[str, list[int]], total: dict[str, int], roles: dict[str, str], **settings):
    alphas = [0.0, 0.5, 1.0]
    table = {Mix.of(a): TaskCounts({n: c[i] for n, c in correct.items()}, dict(total)) for i, a in enumerate(alphas)}
    return sweep_record(alphas, roles, table, SweepSettings(alphas=tuple(alphas), **settings))


@pytest.mark.parametrize("correct", [[1, 1, 1], [0, 1, 1]], ids=["always-right", "zero-shot-wrong"])
def test_a_one_image_heldout_set_warns_that_the_choice_is_noise(correct: list[int]) -> None:
    record = _record({"csv": correct}, {"csv": 1}, {"csv": "patch"})
    assert record["selected_alpha"] == (0.0 if correct[0] else 0.5)  # ties go to the smaller alpha
    assert len(record["warnings"]) == 1 and "the choice among them is noise" in record["warnings"][0]
    assert "(smallest: 1 images of csv)" in record["warnings"][0]
    assert record["objective_interval"] == pytest.approx([50.0, 100.0])
    # One discordant image of one cannot tell two candidates apart (McNemar): every alpha is tied.
    assert record["tied_alphas"] == [0.0, 0.5, 1.0] and record["alpha_interval"] == [0.0, 1.0]
    assert record["tasks"]["csv"]["stderr"][1] == 0.0  # kept: the binomial standard error
    assert record["tasks"]["csv"]["interval"][1] == pytest.approx([50.0, 100.0])
    assert record["tasks"]["csv"]["interval"][0] == pytest.approx([50.0, 100.0] if correct[0] else [0.0, 50.0])
    line = summary_line(record)
    assert "patch 100.00% [50.00, 100.00]" in line and "± 0.00" not in line


def test_large_sets_do_not_warn() -> None:
    record = _record({"p": [400, 700, 900]}, {"p": 1000}, {"p": "patch"})
    assert record["selected_alpha"] == 1.0 and record["warnings"] == [] and record["tied_alphas"] == [1.0]


def test_a_tiny_support_set_at_100_percent_warns_against_its_limit() -> None:
    record = _record(
        {"p": [400, 700, 900], "s": [3, 3, 3]},
        {"p": 1000, "s": 3},
        {"p": "patch", "s": "support"},
        criterion="constrained",
        max_support_drop=1.0,
    )
    # 3/3: Wilson [75, 100] (z = 1), known to +-12.5 points, more than the 1-point limit.
    assert any("more than the 1-point limit (sweep.max_support_drop)" in w for w in record["warnings"])
    assert "± 12.50 points" in record["warnings"][-1]


def test_test_records_carry_intervals_beside_standard_errors() -> None:
    table = {Mix.of(a): TaskCounts({"p": 1}, {"p": 1}) for a in (0.0, 0.5, 1.0)}
    row = records.test_record({"p": "patch"}, table, 0.5)["tasks"]["p"]
    assert row["stderr"]["patched"] == 0.0 and row["interval"]["patched"] == pytest.approx([50.0, 100.0])
