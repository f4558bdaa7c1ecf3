"""Coordinate ascent over a grid: finer coefficients found with a fixed budget of evaluations.

Used for per-block coefficients (one coordinate per parameter group of the tower, or the two
ends of a depth schedule) and for parallel patching with many end points (one coordinate per
end point). Each call of ``score`` evaluates one coordinate's whole grid, the other coordinates
fixed, so that a caller measuring accuracy makes one pass over its data per call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

Point = dict[str, float]
Score = Callable[[Sequence[Point]], list[float]]

_DIGITS = 6  # coordinates are rounded so that 0.1 + 0.2 and 0.3 name the same point


def coordinate_ascent(
    score: Score,
    start: Mapping[str, float],
    values: Sequence[float],
    budget: int,
    order: Sequence[str] | None = None,
    rounds: int = 2,
    grids: Mapping[str, Sequence[float]] | None = None,
    allowed: Callable[[Point], bool] | None = None,
) -> tuple[Point, list[tuple[Point, float]]]:
    """Maximises ``score`` one coordinate at a time over the grid ``values``, from ``start``.

    For each coordinate in ``order`` (``rounds`` times over), the points that differ from the
    current best in that coordinate only, one per grid value not yet evaluated, are scored in one
    call, nearest values first when the remaining budget cannot take them all; the best point moves
    only on a strictly higher score. The first call also scores ``start``. The search stops early
    when a whole round moves nothing, or when the budget is spent.

    Args:
        score: Scores a batch of points (higher is better, ``-inf`` for infeasible points); one
            value per point, in order.
        start: The starting point, e.g. every parameter group at the best global alpha.
        values: The grid every coordinate may take.
        budget: The most points scored besides ``start``.
        order: Coordinates to move, in this order (default: ``start``'s keys).
        rounds: Passes over ``order``.
        grids: Grids of particular coordinates, replacing ``values`` for them.
        allowed: The domain: points for which it is false are skipped (never scored, not counted
            in the budget), e.g. mixes with a coefficient outside ``[0, 1]``.

    Returns:
        ``(best, trace)``: the best point, and every ``(point, score)`` evaluated, in order
        (``start`` first). On equal scores the point closer to ``start`` (L1 distance) wins.

    Raises:
        ValueError: For an empty grid or start, a negative budget, fewer than one round, a
            coordinate of ``order`` that ``start`` lacks, or a score that is NaN or missing.
    """
    if not start:
        raise ValueError("coordinate ascent needs a start point with at least one coordinate")
    grid_of = {name: sorted({_round(v) for v in (grids or {}).get(name, values)}) for name in start}
    if not all(grid_of.values()):
        raise ValueError("coordinate ascent needs a non-empty grid of values for every coordinate")
    if budget < 0:
        raise ValueError(f"budget={budget}: must be at least 0 evaluations")
    if rounds < 1:
        raise ValueError(f"rounds={rounds}: must be at least 1")
    names = list(start)
    order = names if order is None else list(order)
    unknown = [name for name in order if name not in start]
    if unknown:
        raise ValueError(f"order names coordinates {unknown} that the start point lacks (it has {names})")
    origin: Point = {name: _round(start[name]) for name in names}

    def key(point: Mapping[str, float]) -> tuple[float, ...]:
        return tuple(point[name] for name in names)

    def distance(point: Mapping[str, float]) -> float:
        return sum(abs(point[name] - origin[name]) for name in names)

    def better(a: Point, a_score: float, b: Point, b_score: float) -> bool:
        if a_score != b_score:
            return a_score > b_score
        return (distance(a), key(a)) < (distance(b), key(b))

    seen: dict[tuple[float, ...], float] = {}
    trace: list[tuple[Point, float]] = []

    def evaluate(points: list[Point]) -> None:
        scores = list(score(points))
        if len(scores) != len(points):
            raise ValueError(f"score returned {len(scores)} values for {len(points)} points")
        for point, value in zip(points, scores, strict=True):
            value = float(value)
            if math.isnan(value):
                raise ValueError(f"score of {point} is NaN; return -inf for infeasible points")
            seen[key(point)] = value
            trace.append((dict(point), value))

    spent = 0
    best = dict(origin)
    pending_start = True
    for _ in range(rounds):
        moved = False
        for name in order:
            here = best[name]
            nearest = sorted(grid_of[name], key=lambda v: (_round(abs(v - here)), v))
            line = [{**best, name: value} for value in nearest]
            fresh = [point for point in line if key(point) not in seen and key(point) != key(origin)]
            fresh = [point for point in fresh if allowed is None or allowed(point)]
            fresh = fresh[: budget - spent]
            batch = ([dict(origin)] if pending_start else []) + fresh
            pending_start = False
            if batch:
                evaluate(batch)
                spent += len(fresh)
            for point in batch:
                if key(point) != key(best) and better(point, seen[key(point)], best, seen[key(best)]):
                    best = dict(point)
                    moved = True
            if spent >= budget:
                return best, trace
        if not moved:
            break
    return best, trace


def _round(value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"coordinate value {value!r} is not a finite number")
    return round(number, _DIGITS)
