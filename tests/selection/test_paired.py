"""Paired statistics: McNemar-style differences, ties and the held-out size needed, by hand."""

import math

import pytest

from paint_lightning.selection.paired import (
    objective_weights,
    paired_difference,
    paired_task,
    required_images,
    unpaired_task,
)


def test_one_task_difference_is_mcnemars() -> None:
    # 100 images, 6 right for A only, 2 for B only: d = 4 points, stderr 100 sqrt(8) / 100, correction 1 point.
    diff = paired_difference({"p": paired_task(6, 2, 100)}, {"p": 1.0})
    assert (diff.difference, diff.stderr, diff.correction) == pytest.approx((4.0, math.sqrt(8.0), 1.0))
    assert diff.told_apart()  # 4 - 1 = 3 > 2.83
    assert not paired_difference({"p": paired_task(5, 2, 100)}, {"p": 1.0}).told_apart()  # 3 - 1 = 2 < sqrt(7)


@pytest.mark.parametrize(("b", "apart"), [(1, False), (2, False), (3, True)])
def test_discordant_images_needed_to_tell_two_candidates_apart(b: int, apart: bool) -> None:
    # McNemar's exact test at z = 1 (two-sided 32%): b right-only images and none the other way
    # have p = 2 / 2^b: 1, 0.5, 0.25 -> only b = 3 tells them apart, whatever the set's size.
    for n in (b, 50):
        assert paired_difference({"p": paired_task(b, 0, n)}, {"p": 1.0}).told_apart() is apart


def test_identical_predictions_are_tied_and_a_single_image_is_not_certain() -> None:
    assert not paired_difference({"p": paired_task(0, 0, 1000)}, {"p": 1.0}).told_apart()
    one = paired_difference({"p": paired_task(1, 0, 1)}, {"p": 1.0})
    assert (one.difference, one.stderr) == (100.0, 100.0) and not one.told_apart()


def test_tasks_combine_with_the_criterions_weights() -> None:
    assert objective_weights(["a", "b"], ["s"], "mean") == {"a": 0.25, "b": 0.25, "s": 0.5}
    assert objective_weights(["a", "b"], ["s"], "constrained") == {"a": 0.5, "b": 0.5}
    assert objective_weights(["a"], [], "mean") == {"a": 1.0}
    weights = {"a": 0.25, "b": 0.25, "s": 0.5}
    tasks = {"a": paired_task(10, 2, 100), "b": paired_task(0, 4, 50), "s": paired_task(30, 10, 1000)}
    diff = paired_difference(tasks, weights)
    # d: 0.08, -0.08, 0.02 -> D = 0.02 - 0.02 + 0.01 = 0.01; var = 0.0625 (12/1e4 + 4/2500) + 0.25 * 40/1e6.
    assert diff.difference == pytest.approx(1.0)
    assert diff.stderr == pytest.approx(100 * math.sqrt(0.0625 * (0.0012 + 0.0016) + 0.25 * 4e-5))
    assert diff.correction == pytest.approx(100 * 0.25 / 50)  # one image of the task where one image weighs most


def test_unpaired_tasks_assume_independent_errors() -> None:
    d, v, n = unpaired_task(9, 7, 10)
    assert (d, v, n) == pytest.approx((0.2, 0.9 * 0.3 + 0.7 * 0.1, 10))
    assert unpaired_task(10, 10, 10)[:2] == (0.0, 0.0)


def test_required_images_on_a_constructed_difference() -> None:
    # One task, 200 images, 13 right for alpha* only and 5 for its neighbour only: D = 0.04, S = v = 0.09,
    # m = 1. Boundary (sqrt(0.09) + sqrt(0.09 + 4 * 0.04))^2 / (4 * 0.04^2) = (0.3 + 0.5)^2 / 0.0064 = 100.
    tasks = {"p": paired_task(13, 5, 200)}
    assert required_images(tasks, {"p": 1.0}) == 100
    # Without the continuity correction it would be z^2 S / D^2 = 56.25; the correction needs more.
    # Check against the test itself: the same rates at 101 images tell them apart, at 99 they do not.
    for n, apart in ((101, True), (99, False)):
        b, c = 13 * n / 200, 5 * n / 200
        d, v = (b - c) / n, (b + c) / n
        assert paired_difference({"p": (d, v, n)}, {"p": 1.0}).told_apart() is apart
    # Two equally weighted tasks (mean of patch and support): D = 0.5 (0.04 + 0.02) = 0.03,
    # S = 0.25 (0.09 + 0.04) = 0.0325, m = 0.5: (sqrt(0.0325) + sqrt(0.0325 + 0.06))^2 / 0.0036 = 65.18 -> 66.
    two = {"p": paired_task(13, 5, 200), "s": paired_task(3, 1, 100)}
    assert required_images(two, {"p": 0.5, "s": 0.5}) == 66
    assert required_images({"p": paired_task(4, 4, 100)}, {"p": 1.0}) is None  # same score: no size resolves it


def test_bonferroni_z_splits_the_one_sided_level_among_the_tries() -> None:
    from statistics import NormalDist

    from paint_lightning.selection.paired import bonferroni_z

    normal = NormalDist()
    assert bonferroni_z(1.0, 1) == 1.0 and bonferroni_z(1.0, 0) == 1.0
    for tries in (2, 10, 40, 60):
        z = bonferroni_z(1.0, tries)
        # each try at 1 / tries of the level: the best of `tries` crosses it at most as often as one try at z = 1
        assert tries * (1.0 - normal.cdf(z)) == pytest.approx(1.0 - normal.cdf(1.0))
    assert [round(bonferroni_z(1.0, m), 2) for m in (10, 40, 60)] == [2.15, 2.65, 2.79]
    assert bonferroni_z(2.0, 40) > bonferroni_z(1.0, 40)
