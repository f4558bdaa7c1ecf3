import math

import pytest

from paint_lightning.selection import SweepCurves, select_alpha
from paint_lightning.selection.criteria import limits_at, mean_or_nan, mean_or_none, objective

ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]


def _curves(patch: list[float], support: list[float] | None = None) -> SweepCurves:
    support_tasks = {"s": support} if support is not None else {}
    return SweepCurves(ALPHAS, {"p": patch}, support_tasks, {"s": support[0]} if support else {})


def test_mean_criterion_maximises_average_of_patch_and_support() -> None:
    curves = _curves(patch=[20, 50, 70, 85, 90], support=[90, 89, 86, 75, 60])
    # means: 55, 69.5, 78, 80, 75 -> alpha 0.75
    assert select_alpha(curves, "mean") == (3, 0.75)


def test_constrained_criterion_respects_support_drop() -> None:
    curves = _curves(patch=[20, 50, 70, 85, 90], support=[90, 89, 86, 75, 60])
    assert select_alpha(curves, "constrained", max_support_drop=1.0) == (1, 0.25)
    assert select_alpha(curves, "constrained", max_support_drop=5.0) == (2, 0.5)
    assert select_alpha(curves, "constrained", max_support_drop=100.0) == (4, 1.0)


def test_every_support_task_must_stay_within_delta() -> None:
    curves = SweepCurves(
        ALPHAS,
        {"p": [10, 20, 30, 40, 50]},
        {"a": [80, 80, 80, 80, 80], "b": [70, 70, 68, 60, 50]},
        {"a": 80, "b": 70},
    )
    assert select_alpha(curves, "constrained", max_support_drop=2.0)[1] == 0.5


def test_constrained_mean_limits_the_average_drop_only() -> None:
    curves = SweepCurves(
        ALPHAS,
        {"p": [10, 20, 30, 40, 50]},
        {"a": [80, 80, 80, 79, 78], "b": [70, 69, 67, 66, 62]},
        {"a": 80, "b": 70},
    )
    # average drops: 0, 0.5, 1.5, 2.5, 5; largest drops: 0, 1, 3, 4, 8
    assert select_alpha(curves, "constrained_mean", max_support_drop=2.0)[1] == 0.5
    assert select_alpha(curves, "constrained", max_support_drop=2.0)[1] == 0.25
    assert curves.mean_support_drop(3) == pytest.approx(2.5)


def test_ties_go_to_smaller_alpha() -> None:
    curves = _curves(patch=[50, 60, 60, 60, 40], support=[50, 50, 50, 50, 50])
    assert select_alpha(curves, "mean")[1] == 0.25


def test_without_support_tasks_patch_accuracy_decides() -> None:
    curves = _curves(patch=[10, 30, 80, 70, 60])
    assert select_alpha(curves, "mean")[1] == 0.5


def test_infeasible_grid_falls_back_to_smallest_drop() -> None:
    curves = SweepCurves([0.5, 1.0], {"p": [50, 90]}, {"s": [80, 70]}, {"s": 90})
    scores = objective(curves, "constrained", 1.0)
    assert all(math.isinf(s) for s in scores)
    assert select_alpha(curves, "constrained", 1.0)[1] == 0.5


def test_bad_inputs_are_reported() -> None:
    with pytest.raises(ValueError, match="3 accuracies for 5 alphas"):
        SweepCurves(ALPHAS, {"p": [1, 2, 3]}, {}, {})
    with pytest.raises(ValueError, match="zero-shot accuracy missing"):
        SweepCurves(ALPHAS, {"p": [1] * 5}, {"s": [1] * 5}, {})
    with pytest.raises(ValueError, match="needs max_support_drop"):
        objective(_curves([1] * 5, [1] * 5), "constrained", None)


# -- per-task limits (max_task_drop): each named support task within its own limit --------------


def _two_support_tasks() -> SweepCurves:
    # Mean drops: 0, 0.5, 1.0, 1.5, 4; "earlier" drops 0, 1, 2, 3, 6; "other" 0, 0, 0, 0, 2.
    return SweepCurves(
        ALPHAS,
        {"p": [10, 20, 30, 40, 50]},
        {"earlier": [90, 89, 88, 87, 84], "other": [80, 80, 80, 80, 78]},
        {"earlier": 90, "other": 80},
    )


def test_a_per_task_limit_rejects_an_alpha_whose_mean_drop_is_within_the_limit() -> None:
    curves = _two_support_tasks()
    assert curves.mean_support_drop(2) == pytest.approx(1.0) and curves.task_drop("earlier", 2) == pytest.approx(2.0)
    assert select_alpha(curves, "constrained_mean", 1.5)[1] == 0.75  # the mean alone lets "earlier" drop 3
    assert select_alpha(curves, "constrained_mean", 1.5, {"earlier": 1.0})[1] == 0.25
    scores = objective(curves, "constrained_mean", 1.5, {"earlier": 1.0})
    assert scores[:2] == [10, 20] and all(math.isinf(s) for s in scores[2:])
    # Without per-task limits nothing changes.
    assert objective(curves, "constrained_mean", 1.5, {}) == objective(curves, "constrained_mean", 1.5)


def test_limits_at_says_which_limit_held() -> None:
    curves = _two_support_tasks()
    limits = limits_at(curves, 1, "constrained_mean", 1.5, {"earlier": 1.0})
    assert limits == {
        "support": {"of": "mean", "limit": 1.5, "drop": 0.5, "held": True},
        "tasks": {"earlier": {"limit": 1.0, "drop": 1.0, "held": True}},
    }
    over = limits_at(curves, 3, "constrained", 2.0, {"earlier": 1.0})
    assert over is not None and over["support"] == {"of": "each", "limit": 2.0, "drop": 3.0, "held": False}
    assert not over["tasks"]["earlier"]["held"]
    assert limits_at(curves, 1, "mean", None) is None


def test_infeasible_grid_with_per_task_limits_falls_back_to_the_smallest_excess() -> None:
    curves = SweepCurves([0.5, 1.0], {"p": [50, 90]}, {"a": [85, 89.5], "b": [70, 60]}, {"a": 90, "b": 70})
    # Mean drops 2.5 and 5.25; "a" drops 5 and 0.5. Excess over (mean <= 1, a <= 0.5):
    # 0.5: max(2.5 - 1, 5 - 0.5) = 4.5; 1.0: max(5.25 - 1, 0.5 - 0.5) = 4.25.
    assert all(math.isinf(s) for s in objective(curves, "constrained_mean", 1.0, {"a": 0.5}))
    assert select_alpha(curves, "constrained_mean", 1.0, {"a": 0.5}) == (1, 1.0)
    assert select_alpha(curves, "constrained_mean", 1.0) == (0, 0.5)  # without it: the smallest mean drop


def test_per_task_limits_need_a_constrained_criterion_and_support_tasks() -> None:
    curves = _two_support_tasks()
    with pytest.raises(ValueError, match="need a constrained criterion"):
        objective(curves, "mean", None, {"earlier": 1.0})
    with pytest.raises(ValueError, match=r"names \['p'\], which are not support tasks"):
        objective(curves, "constrained", 1.0, {"p": 1.0})


def test_the_mean_of_no_values_is_nan_or_none_as_named() -> None:
    assert mean_or_nan([1.0, 2.0, 4.0]) == mean_or_none([1.0, 2.0, 4.0]) == pytest.approx(7.0 / 3.0)
    assert math.isnan(mean_or_nan([])) and mean_or_none(iter([])) is None
