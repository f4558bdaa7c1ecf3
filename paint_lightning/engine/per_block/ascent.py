"""The per-block search's climb: coordinate ascent over depth schedules or per-group coefficients.

:func:`ascend` measures mixes on the data its ``measure`` reads (the whole held-out sets, or their
search parts under ``accept: confirm``) and returns every mix it measured with its objective and
its guide (:mod:`~paint_lightning.engine.per_block.tradeoff`); choosing among them and deciding
whether the best replaces alpha* is :func:`~paint_lightning.engine.per_block.block_search.search_blocks`'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

from paint_lightning.engine.alpha_sweep import Measure, SweepSettings, measure_missing
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.per_block import tradeoff
from paint_lightning.interpolation.depth import as_scalar, depth_schedule, slopes
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix, rounded
from paint_lightning.selection.coordinate import coordinate_ascent
from paint_lightning.selection.search import grid_alphas


class Climb(Protocol):
    """The settings :func:`ascend` reads, those of a ``BlockSearch``.

    A protocol, so that this module need not import :mod:`~paint_lightning.engine.per_block.block_search`,
    which calls it.
    """

    search: str
    budget: int
    values: tuple[float, ...]
    resolution: float
    rounds: int
    over_limit: float


Seen = dict[Mix, tuple[dict[str, float], float, float]]
"""Mix -> (group -> coefficient, objective, guide), for every mix measured."""


def mix_of(values: Mapping[str, float]) -> Mix:
    """The mix giving each group its value; a scalar mix when all groups share one value."""
    scalar = as_scalar(values)
    return Mix.of(scalar) if scalar is not None else Mix.of(dict(values))


def mix_groups(mix: Mix, groups: Sequence[str]) -> dict[str, float]:
    """Group -> coefficient of a one-end mix, in ``groups``' order."""
    return {group: mix.coefficient(0, group) for group in groups}


def ascend(
    measure: Measure,
    table: dict[Mix, TaskCounts],
    roles: Mapping[str, str],
    settings: SweepSettings,
    block: Climb,
    ordered: list[str],
    alpha: float,
    price: float,
) -> Seen:
    """The search itself, on ``measure``'s data: every mix measured -> (groups, objective, guide); alpha* included."""
    measure_missing(table, measure, [ZERO_SHOT, FINE_TUNED, Mix.of(alpha)])
    zero_shot = table[ZERO_SHOT]
    low, high = (-math.inf, math.inf) if settings.allow_extrapolation else (0.0, 1.0)
    origin = dict.fromkeys(ordered, rounded(alpha))
    seen: dict[Mix, tuple[dict[str, float], float, float]] = {}  # mix -> (groups, objective, guide)

    def line(point: Mapping[str, float]) -> dict[str, float]:
        return depth_schedule(ordered, point["level"], point["slope"])

    def in_range(values: Mapping[str, float]) -> bool:
        return all(low <= v <= high for v in values.values())

    def score(candidates: Sequence[dict[str, float]]) -> list[float]:
        """The guide of each candidate; ones outside [0, 1] (without extrapolation) are infeasible, unmeasured."""
        mixes = [mix_of(c) for c in candidates]
        ok = [in_range(c) for c in candidates]
        todo = [m for m, good in zip(mixes, ok, strict=True) if good and m not in seen]
        measure_missing(table, measure, todo)
        columns = [table[m] for m in todo]
        objectives = tradeoff.mix_objective(columns, zero_shot, roles, settings)
        guides = tradeoff.guide(columns, zero_shot, roles, settings, price, block.over_limit)
        for mix, value, climb in zip(todo, objectives, guides, strict=True):
            seen[mix] = (mix_groups(mix, ordered), value, climb)
        return [seen[m][2] if good else -math.inf for m, good in zip(mixes, ok, strict=True)]

    spent = 0
    start = origin
    low_value, high_value = block.values[0], block.values[-1]
    levels = [v for v in grid_alphas(block.resolution, low_value, high_value) if v <= high_value + 1e-9]
    if block.search != "coordinate":
        share = block.budget if block.search == "lines" else block.budget // 2
        best, trace = coordinate_ascent(
            lambda points: score([line(p) for p in points]),
            {"level": alpha, "slope": 0.0},
            block.values,
            share,
            order=["slope", "level"],
            rounds=block.rounds,
            grids={"slope": slopes(block.values), "level": levels},
            allowed=lambda point: in_range(line(point)),
        )
        spent, start = len(trace) - 1, line(best)
    if block.search != "lines":
        _, trace = coordinate_ascent(
            score, start, block.values, block.budget - spent, rounds=block.rounds, allowed=in_range
        )
    score([origin])
    return seen
