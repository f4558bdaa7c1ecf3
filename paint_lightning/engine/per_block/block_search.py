"""Per-block coefficients: a finer mix than one alpha, searched on held-out data, kept only if it wins.

After the global sweep has chosen alpha*, :func:`search_blocks` looks for one coefficient per
parameter group of the tower (``embed``, each block or stage, ``head``) that scores better under
the *same* criterion on held-out data, within an explicit budget of evaluations (the climb itself
is :func:`~paint_lightning.engine.per_block.ascent.ascend`):

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

The finer mix is selected only when it beats alpha* under the rule ``accept`` names
(:mod:`~paint_lightning.engine.per_block.acceptance`): by default on a *confirm* part of the
held-out sets that the search never scored (``confirm``), or by a paired margin corrected for the
number of mixes tried (``paired``), or, as before, on the very data it was searched on
(``gain``, prone to the winner's curse); otherwise alpha* stays (``selected_mix`` is then the
scalar alpha*). The search never sees a test split.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from paint_lightning.engine.alpha_sweep import Measure, SweepSettings, measure_missing
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.per_block import tradeoff
from paint_lightning.engine.per_block.acceptance import (
    ACCEPT_RULES,
    Accept,
    HeldoutParts,
    confirm_check,
    gain_check,
    objectives,
    paired_check,
    summed,
)
from paint_lightning.engine.per_block.ascent import ascend, mix_groups, mix_of
from paint_lightning.engine.per_block.block_report import comparison_rows
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix, group_order, rounded
from paint_lightning.selection.search import grid_alphas
from paint_lightning.selection.uncertainty import Estimate, Z, objective_interval, objective_stderr

__all__ = ["FIELD", "BlockSearch", "HeldoutParts", "mix_groups", "mix_of", "search_blocks"]

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
        min_gain: Points of objective by which the finer mix must beat alpha* to be selected,
            on the data the rule compares them on (0: any strict gain).
        accept: The rule that decides whether the finer mix replaces alpha*
            (:mod:`~paint_lightning.engine.per_block.acceptance`): ``confirm`` (default: it must
            win on the held-out sets' confirm parts, which the search never scored), ``paired``
            (it must win on the whole held-out sets by a paired margin corrected for the number of
            mixes tried) or ``gain`` (it must win on the data it was searched on: the old rule,
            prone to the winner's curse; for reproducing old results).
        confirm_fraction: Share of each task's held-out set kept for the confirm part (``confirm``):
            more gives a surer check and a noisier search. 0.5 by default: the two halves are
            equally noisy, so neither the search nor the check is starved.
        paired_z: One-sided ``z`` of a single paired comparison (``paired``), split among the mixes
            tried (Bonferroni); default 1.0, the level of the sweep's other intervals (about 84%
            one-sided), so 40 tries need about 2.65 standard errors.
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
    accept: Accept = "confirm"
    confirm_fraction: float = 0.5
    paired_z: float = Z
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
        if self.accept not in ACCEPT_RULES:
            raise ValueError(
                f"{f}.accept={self.accept!r}: use confirm (win on a confirm part of the held-out sets), paired "
                "(win by a margin corrected for the mixes tried) or gain (the old rule, prone to the winner's curse)."
            )
        if not 0.0 < self.confirm_fraction < 1.0:
            raise ValueError(
                f"{f}.confirm_fraction={self.confirm_fraction}: give the share of each held-out set kept for the "
                "confirm part, strictly between 0 and 1, e.g. 0.5."
            )
        if not (math.isfinite(self.paired_z) and self.paired_z > 0):
            raise ValueError(f"{f}.paired_z={self.paired_z}: give a positive number of standard errors, e.g. 1.0.")
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


def search_blocks(
    measure: Measure,
    roles: Mapping[str, str],
    settings: SweepSettings,
    block: BlockSearch,
    groups: Sequence[str],
    alpha: float,
    table: dict[Mix, TaskCounts],
    parts: HeldoutParts | None = None,
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
            the search adds what it measures on the whole held-out sets (not under ``confirm``).
        parts: The held-out sets' search and confirm parts (needed by ``accept: confirm``).

    Returns:
        The search as plain data: ``search``, ``groups``, ``budget``, ``evaluations``,
        ``global_alpha``, ``global_objective``, ``best`` (group -> value), ``best_mix``,
        ``best_objective``, ``gain`` (these three on the whole held-out sets), ``objective_stderr``,
        ``objective_interval`` (the best mix's, Wilson, about 68%), ``min_gain``, ``accept`` (the
        rule that decided and its numbers: :mod:`~paint_lightning.engine.per_block.acceptance`),
        ``won``, ``selected_mix`` (``Mix.to_json()``), ``heldout`` (per task: zero-shot,
        fine-tuned, alpha*'s and the best per-block mix's accuracy; under ``confirm`` also
        ``heldout_parts``: the same for the search and the confirm parts), ``trace`` (every mix
        measured, scored on the data the search saw) and ``warnings``.

    Raises:
        ValueError: ``accept: confirm`` without ``parts``.
    """
    block.check(settings)
    if block.accept == "confirm" and parts is None:
        raise ValueError(
            f"{FIELD}.accept=confirm needs the held-out sets split into a search and a confirm part (pass "
            f"parts=HeldoutParts(...)); or set {FIELD}.accept to paired or gain."
        )
    ordered = group_order(groups)
    global_mix = Mix.of(alpha)
    measure_missing(table, measure, [ZERO_SHOT, FINE_TUNED, global_mix])
    price = tradeoff.support_price(table, roles, settings, alpha, block.price_span, block.price_discount)
    split = parts if block.accept == "confirm" else None
    scored: dict[Mix, TaskCounts] = table if split is None else {}  # what the search scores mixes on
    seen = ascend(measure if split is None else split.search, scored, roles, settings, block, ordered, alpha, price)
    origin = seen[global_mix][0]

    def rank(mix: Mix) -> tuple[float, float]:
        groups, value, _ = seen[mix]
        return (value, -sum(abs(groups[g] - origin[g]) for g in ordered))

    best_mix = max(seen, key=rank)
    best_groups, best_score, _ = seen[best_mix]
    global_score = seen[global_mix][1]
    extra: dict[str, Any] = {}
    if split is not None:
        decision, confirm = confirm_check(split.confirm, scored, roles, settings, global_mix, best_mix, block.min_gain)
        table = {m: summed(scored[m], confirm[m]) for m in confirm}
        global_score, best_score = objectives(table, roles, settings, [global_mix, best_mix])
        extra["heldout_parts"] = {
            "search": comparison_rows(roles, scored, global_mix, best_mix),
            "confirm": comparison_rows(roles, confirm, global_mix, best_mix),
        }
        checked = confirm[best_mix], decision["confirm"]["gain"], "the held-out confirm part"
    elif block.accept == "paired":
        feasible, z, tried = math.isfinite(best_score), block.paired_z, len(seen) - 1
        decision = paired_check(measure, roles, settings, global_mix, best_mix, feasible, tried, z, block.min_gain)
        checked = None
    else:
        decision = gain_check(global_score, best_score, best_mix != global_mix, block.min_gain)
        checked = table[best_mix], decision["gain"], "held-out data"
    won = decision["won"]
    gain = best_score - global_score if math.isfinite(best_score) and math.isfinite(global_score) else None
    stderr = _objective_stderr(table[best_mix], roles, settings)
    interval = _objective_interval(table[best_mix], roles, settings)
    warnings = [] if checked is None else _warnings(won, checked[1], checked[0], roles, settings, checked[2])
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
        "accept": decision,
        "won": won,
        "selected_mix": (best_mix if won else global_mix).to_json(),
        "heldout": comparison_rows(roles, table, global_mix, best_mix),
        **extra,
        "trace": [
            {"mix": groups, "objective": _finite_or_none(value), "guide": _finite_or_none(climb)}
            for groups, value, climb in seen.values()
        ],
        "warnings": warnings,
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
    won: bool, gain: float | None, counts: TaskCounts, roles: Mapping[str, str], settings: SweepSettings, where: str
) -> list[str]:
    """Warns when the deciding gain lies within the best mix's interval (below its objective) on those images."""
    interval = _objective_interval(counts, roles, settings)
    below = interval[0] - interval[1]
    if not won or gain is None or not math.isfinite(below) or gain > below:
        return []
    patch = {n: counts.total[n] for n, r in roles.items() if r == "patch"}
    sizes = ", ".join(f"{n} {k}" for n, k in patch.items())
    return [
        f"the per-block mix beats alpha* by {gain:.2f} points on {where}, within the reach of its "
        f"objective's interval ({below:.2f} points below it, Wilson, about 68%; held-out images: {sizes}): the "
        "gain may be noise. Hold out more images (data.heldout_fraction, data.heldout_max) or require a margin "
        "(sweep.per_block.min_gain)."
    ]


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
