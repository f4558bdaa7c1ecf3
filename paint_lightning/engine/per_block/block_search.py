"""Per-block coefficients: a finer mix than one alpha, searched on held-out data, kept only if it wins.

After the global sweep has chosen alpha*, :func:`search_blocks` looks for one coefficient per
parameter group of the tower (``embed``, each block or stage, ``head``) that scores better under
the *same* criterion on the *same* held-out sets, within an explicit budget of evaluations:

* ``search: lines``: a schedule linear in depth (:func:`~paint_lightning.interpolation.depth.
  depth_schedule`, LiNeS-style), two numbers, its mean ``level`` and its ``slope`` from the first
  group to the last, found by coordinate ascent from ``(alpha*, 0)``, slope first: tilting the
  schedule around alpha* trades interpolation between shallow and deep groups at about the same
  support cost, which moving one group at a time cannot do when the support limit binds;
* ``search: coordinate``: every group's coefficient on its own, by coordinate ascent from every
  group at alpha*;
* ``search: lines+coordinate``: ``lines`` with half the budget, then ``coordinate`` from its best
  schedule with the rest.

Mixes with a coefficient outside ``[0, 1]`` count as infeasible (and are not measured) unless the
sweep allows extrapolation.

The finer mix is selected only when its held-out objective beats alpha*'s by more than
``min_gain`` points; otherwise alpha* stays (``selected_mix`` is then the scalar alpha*). The
search never sees a test split.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from paint_lightning.engine.alpha_sweep import Measure, SweepSettings, measure_missing
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.per_block import tradeoff
from paint_lightning.engine.per_block.block_report import comparison_rows
from paint_lightning.interpolation.depth import as_scalar, depth_schedule, slopes
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix, group_order, rounded
from paint_lightning.selection.coordinate import coordinate_ascent
from paint_lightning.selection.search import grid_alphas
from paint_lightning.selection.uncertainty import Estimate, objective_interval, objective_stderr

Search = Literal["lines", "coordinate", "lines+coordinate"]
FIELD = "sweep.per_block"  # where the settings live in a config, for error messages


@dataclass(frozen=True)
class BlockSearch:
    """How to search per-block coefficients (``sweep.per_block``).

    Attributes:
        search: ``lines`` (two numbers: a schedule growing or shrinking linearly with depth) or
            ``coordinate`` (one number per parameter group).
        budget: The most mixes evaluated on the held-out sets besides alpha*'s (each costs about
            as much as one alpha of the global sweep).
        values: The grid each coefficient may take (default ``0.0, 0.1, ..., 1.0``); the slopes
            of a depth schedule are the differences of two of its values.
        resolution: Step of the level (mean coefficient) of a depth schedule, between the
            smallest and largest value (like the global sweep's ``resolution``).
        rounds: Passes of coordinate ascent over the coordinates.
        min_gain: Points of held-out objective by which the finer mix must beat alpha* to be
            selected (0: any strict gain).
        price_span: How far below and above alpha* the global path's price of support accuracy
            is measured (constrained criteria only; see :mod:`~paint_lightning.engine.per_block.tradeoff`
            for the reason behind each of these three defaults and what changing it does).
        price_discount: Factor on that price (< 1: a trade as good as the global path's still
            climbs; 0: the search climbs the objective and stays at alpha* where the limit binds).
        over_limit: How many times faster the guide falls per point beyond the support limit.
    """

    search: Search = "lines"
    budget: int = 40
    values: tuple[float, ...] = field(default_factory=lambda: tuple(grid_alphas(0.1)))
    resolution: float = 0.05
    rounds: int = 2
    min_gain: float = 0.0
    price_span: float = tradeoff.PRICE_SPAN
    price_discount: float = tradeoff.PRICE_DISCOUNT
    over_limit: float = tradeoff.OVER_LIMIT

    def __post_init__(self) -> None:
        f = FIELD
        if self.search not in ("lines", "coordinate", "lines+coordinate"):
            raise ValueError(
                f"{f}.search={self.search!r}: use lines (a depth schedule), coordinate (per group) or "
                "lines+coordinate (per group, from the best depth schedule)."
            )
        if self.budget < 1:
            raise ValueError(f"{f}.budget={self.budget}: give the number of mixes to evaluate, e.g. 40.")
        if not self.values:
            raise ValueError(f"{f}.values is empty; give a grid, e.g. [0.0, 0.1, ..., 1.0].")
        if not self.resolution > 0:
            raise ValueError(f"{f}.resolution={self.resolution}: must be positive, e.g. 0.05.")
        if self.rounds < 1:
            raise ValueError(f"{f}.rounds={self.rounds}: must be at least 1.")
        if not (math.isfinite(self.min_gain) and self.min_gain >= 0):
            raise ValueError(f"{f}.min_gain={self.min_gain}: give a non-negative number of points, e.g. 0.")
        for name in ("price_span", "price_discount", "over_limit"):
            if not (math.isfinite(value := getattr(self, name)) and value >= 0):
                raise ValueError(f"{f}.{name}={value}: must be non-negative (default {getattr(type(self), name)}).")
        object.__setattr__(self, "values", tuple(sorted({rounded(v) for v in self.values})))

    def check(self, settings: SweepSettings) -> None:
        """Refuses grid values that the sweep's settings forbid (outside ``[0, 1]``).

        Raises:
            ValueError: Naming the values and the setting that allows them.
        """
        outside = [v for v in self.values if not 0.0 <= v <= 1.0]
        if outside and not settings.allow_extrapolation:
            raise ValueError(
                f"{FIELD}.values has {outside} outside [0, 1]; set {settings.field}.allow_extrapolation=true "
                "if extrapolating per block is intended."
            )


def mix_of(values: Mapping[str, float]) -> Mix:
    """The mix giving each group its value; a scalar mix when all groups share one value."""
    scalar = as_scalar(values)
    return Mix.of(scalar) if scalar is not None else Mix.of(dict(values))


def mix_groups(mix: Mix, groups: Sequence[str]) -> dict[str, float]:
    """Group -> coefficient of a one-end mix, in ``groups``' order."""
    return {group: mix.coefficient(0, group) for group in groups}


def search_blocks(
    measure: Measure,
    roles: Mapping[str, str],
    settings: SweepSettings,
    block: BlockSearch,
    groups: Sequence[str],
    alpha: float,
    table: dict[Mix, TaskCounts],
) -> dict[str, Any]:
    """Searches per-block coefficients from alpha* on held-out data; see the module docstring.

    Args:
        measure: Counts of a list of mixes over the held-out sets (one pass per call).
        roles: Task name -> role.
        settings: The global sweep's settings (criterion, support limit).
        block: The per-block search.
        groups: The tower's parameter groups (:func:`~paint_lightning.interpolation.mix.parameter_group`).
        alpha: The global sweep's alpha*.
        table: Held-out counts already measured (alpha*'s and the zero-shot model's at least);
            the search adds what it measures.

    Returns:
        The search as plain data: ``search``, ``groups``, ``budget``, ``evaluations``,
        ``global_alpha``, ``global_objective``, ``best`` (group -> value), ``best_mix``,
        ``best_objective``, ``gain``, ``objective_stderr``, ``objective_interval`` (the best
        mix's, Wilson, about 68%), ``min_gain``, ``won``,
        ``selected_mix`` (``Mix.to_json()``), ``heldout`` (per task: zero-shot, fine-tuned,
        alpha*'s and the best per-block mix's accuracy), ``trace`` and ``warnings``.
    """
    block.check(settings)
    ordered = group_order(groups)
    measure_missing(table, measure, [ZERO_SHOT, FINE_TUNED, Mix.of(alpha)])
    zero_shot = table[ZERO_SHOT]
    price = tradeoff.support_price(table, roles, settings, alpha, block.price_span, block.price_discount)
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
        spent += len(trace) - 1

    def rank(mix: Mix) -> tuple[float, float]:
        groups, value, _ = seen[mix]
        return (value, -sum(abs(groups[g] - origin[g]) for g in ordered))

    global_mix = Mix.of(alpha)
    score([origin])
    best_mix = max(seen, key=rank)
    best_groups, best_score, _ = seen[best_mix]
    global_score = seen[global_mix][1]
    gain = best_score - global_score if math.isfinite(best_score) and math.isfinite(global_score) else None
    won = best_mix != global_mix and math.isfinite(best_score) and best_score > global_score + block.min_gain
    stderr = _objective_stderr(table[best_mix], roles, settings)
    interval = _objective_interval(table[best_mix], roles, settings)
    return {
        "search": block.search,
        "groups": ordered,
        "values": list(block.values),
        "budget": block.budget,
        "evaluations": len(seen) - 1,
        "support_price": price,
        "global_alpha": alpha,
        "global_objective": _finite_or_none(global_score),
        "best": best_groups,
        "best_mix": best_mix.to_json(),
        "best_objective": _finite_or_none(best_score),
        "gain": gain,
        "objective_stderr": stderr,
        "objective_interval": list(interval[1:]),
        "min_gain": block.min_gain,
        "won": won,
        "selected_mix": (best_mix if won else global_mix).to_json(),
        "heldout": comparison_rows(roles, table, global_mix, best_mix),
        "trace": [
            {"mix": groups, "objective": _finite_or_none(value), "guide": _finite_or_none(climb)}
            for groups, value, climb in seen.values()
        ],
        "warnings": _warnings(won, gain, interval, table[global_mix], roles),
    }


def _objective_stderr(counts: TaskCounts, roles: Mapping[str, str], settings: SweepSettings) -> float:
    patch = {n: counts.stderr(n) for n, r in roles.items() if r == "patch"}
    support = {n: counts.stderr(n) for n, r in roles.items() if r == "support"}
    return objective_stderr(patch, support, settings.criterion)


def _objective_interval(counts: TaskCounts, roles: Mapping[str, str], settings: SweepSettings) -> Estimate:
    patch = {n: counts.estimate(n) for n, r in roles.items() if r == "patch"}
    support = {n: counts.estimate(n) for n, r in roles.items() if r == "support"}
    return objective_interval(patch, support, settings.criterion)


def _warnings(
    won: bool, gain: float | None, interval: Estimate, counts: TaskCounts, roles: Mapping[str, str]
) -> list[str]:
    """Warns when the gain lies within the best mix's interval (below its objective)."""
    below = interval[0] - interval[1]
    if not won or gain is None or not math.isfinite(below) or gain > below:
        return []
    patch = {n: counts.total[n] for n, r in roles.items() if r == "patch"}
    sizes = ", ".join(f"{n} {k}" for n, k in patch.items())
    return [
        f"the per-block mix beats alpha* by {gain:.2f} points on held-out data, within the reach of its "
        f"objective's interval ({below:.2f} points below it, Wilson, about 68%; held-out images: {sizes}): the "
        "gain may be noise. Hold out more images (data.heldout_fraction, data.heldout_max) or require a margin "
        "(sweep.per_block.min_gain)."
    ]


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
