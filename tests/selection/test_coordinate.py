import math
from collections.abc import Sequence

import pytest

from paint_lightning.selection.coordinate import coordinate_ascent

GRID = [round(0.1 * i, 1) for i in range(11)]


class Recorder:
    """A score function that records its calls."""

    def __init__(self, function) -> None:
        self.function = function
        self.calls: list[list[dict[str, float]]] = []

    def __call__(self, points: Sequence[dict[str, float]]) -> list[float]:
        self.calls.append([dict(p) for p in points])
        return [self.function(p) for p in points]


def test_separable_objective_is_solved_in_one_round_one_call_per_coordinate() -> None:
    target = {"a": 0.3, "b": 0.8, "c": 0.5}
    score = Recorder(lambda p: -sum((p[k] - target[k]) ** 2 for k in target))
    best, trace = coordinate_ascent(score, {"a": 0.5, "b": 0.5, "c": 0.5}, GRID, budget=100)
    assert best == target
    # Round 1: a, b, c (a and b move). Round 2: only a's line (at b = 0.8) is new; b's and c's
    # lines through the best point were scored in round 1. Nothing moves, so it stops.
    assert len(score.calls) == 4
    assert score.calls[0][0] == {"a": 0.5, "b": 0.5, "c": 0.5}  # the start comes first
    assert len(score.calls[0]) == 1 + 10  # start + the other ten values of a
    for call in score.calls[1:]:
        changed = {k for p in call for k in p if p[k] != call[0][k]}
        assert len(changed) <= 1  # one coordinate per call
    keys = [tuple(p.values()) for p, _ in trace]
    assert len(keys) == len(set(keys))  # nothing scored twice


def test_second_round_improves_a_coupled_objective() -> None:
    def f(p: dict[str, float]) -> float:
        return -((p["x"] - 0.8) ** 2) - 2 * (p["y"] - p["x"] / 2) ** 2

    one, _ = coordinate_ascent(Recorder(f), {"x": 0.0, "y": 0.0}, GRID, budget=100, rounds=1)
    # x: max of -(x-.8)^2 - x^2/2 is at 0.533 -> 0.5; y: at 0.25, 0.2 and 0.3 tie -> closer to start.
    assert one == {"x": 0.5, "y": 0.2}
    two, _ = coordinate_ascent(Recorder(f), {"x": 0.0, "y": 0.0}, GRID, budget=100, rounds=2)
    # Round 2, y = 0.2: max of -(x-.8)^2 - 2(.2 - x/2)^2 is at x = 0.667 -> 0.7.
    assert two["x"] == 0.7
    assert f(two) > f(one)


def test_budget_caps_evaluations_and_takes_nearest_values_first() -> None:
    score = Recorder(lambda p: p["a"] + p["b"])
    best, trace = coordinate_ascent(score, {"a": 0.5, "b": 0.5}, GRID, budget=4)
    assert len(trace) == 1 + 4
    assert [p["a"] for p, _ in trace[1:]] == [0.4, 0.6, 0.3, 0.7]
    assert best == {"a": 0.7, "b": 0.5}
    _, only_start = coordinate_ascent(score, {"a": 0.5, "b": 0.5}, GRID, budget=0)
    assert only_start == [({"a": 0.5, "b": 0.5}, 1.0)]


def test_ties_keep_the_point_closest_to_the_start() -> None:
    best, trace = coordinate_ascent(Recorder(lambda p: 1.0), {"a": 0.4, "b": 0.4}, GRID, budget=50)
    assert best == {"a": 0.4, "b": 0.4}
    assert len(trace) == 1 + 20  # one round over both coordinates, then it stops
    # Two maxima at the same score: the one nearer the start wins.
    best, _ = coordinate_ascent(
        Recorder(lambda p: -min(abs(p["a"] - 0.1), abs(p["a"] - 0.6))), {"a": 0.5}, GRID, budget=50
    )
    assert best == {"a": 0.6}


def test_infeasible_points_and_an_off_grid_start() -> None:
    def f(p: dict[str, float]) -> float:
        return -math.inf if p["a"] > 0.45 else p["a"]

    score = Recorder(f)
    best, trace = coordinate_ascent(score, {"a": 0.25}, GRID, budget=20)
    assert best == {"a": 0.4}
    assert trace[0] == ({"a": 0.25}, 0.25)
    assert len(trace) == 1 + 11  # the start is off the grid, so every grid value is new


def test_order_restricts_and_orders_the_coordinates() -> None:
    score = Recorder(lambda p: p["a"] + p["b"])
    best, _ = coordinate_ascent(score, {"a": 0.0, "b": 0.0}, GRID, budget=100, order=["b"])
    assert best == {"a": 0.0, "b": 1.0}


def test_grids_per_coordinate_and_a_domain_that_costs_no_budget() -> None:
    score = Recorder(lambda p: p["a"] - 2 * abs(p["s"] - 0.3))
    best, trace = coordinate_ascent(
        score,
        {"a": 0.5, "s": 0.0},
        GRID,
        budget=100,
        order=["s", "a"],
        grids={"s": [-0.6, -0.3, 0.0, 0.3, 0.6]},
        allowed=lambda p: p["a"] + abs(p["s"]) <= 1.0,  # e.g. coefficients kept within [0, 1]
    )
    assert best == {"a": 0.7, "s": 0.3}
    assert all(p["a"] + abs(p["s"]) <= 1.0 for p, _ in trace)
    assert {p["s"] for p, _ in trace} <= {-0.6, -0.3, 0.0, 0.3, 0.6}
    # s at a = 0.5: -0.6 and 0.6 are outside the domain (2 new points); a at s = 0.3: 0.8, 0.9 and 1.0
    # are (7); round 2, s at a = 0.7: 0.0 and -0.3 (2); nothing moves after that.
    assert len(trace) == 1 + 2 + 7 + 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": {}}, "start point"),
        ({"values": []}, "non-empty grid"),
        ({"budget": -1}, "budget"),
        ({"rounds": 0}, "rounds"),
        ({"order": ["z"]}, "lacks"),
        ({"score": lambda points: [math.nan] * len(points)}, "NaN"),
        ({"score": lambda points: []}, "values for"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, message: str) -> None:
    arguments = {"score": lambda points: [0.0] * len(points), "start": {"a": 0.5}, "values": GRID, "budget": 5}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        coordinate_ascent(**arguments)
