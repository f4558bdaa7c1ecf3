"""Scoring mixes by counts: the selection objective, and the guide a search climbs.

Under a constrained criterion the objective is the patch accuracy of mixes within the support
limit; alpha* sits where the limit binds, so no single coefficient can rise without crossing it,
and lowering one (to free support accuracy for another) scores worse on its own. A search that
climbed the objective would stop at alpha*. The *guide* prices support accuracy instead:
``patch - price * support_drop``, where ``price`` is the patch accuracy the global path gains per
point of support it gives up around alpha* (:func:`support_price`). A move that frees support
accuracy at a lower cost in patch accuracy than the global path charges climbs the guide; the mix
finally chosen is still the best by the criterion itself among everything measured, so the three
constants below steer where the search looks, never what it selects. For ``mean`` the guide is
the objective (it already trades one point of support for one of patch).

The constants are the defaults of :class:`~paint_lightning.engine.per_block.block_search.BlockSearch`'s
``price_span``, ``price_discount`` and ``over_limit`` (set them there, not here). They are
judgement calls, not derived: the study behind ``docs/fine-grained.md`` was run with them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from paint_lightning.engine.counts import TaskCounts, curves_of
from paint_lightning.engine.sweep_settings import SweepSettings
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix
from paint_lightning.selection.criteria import limit_excess, objective

# The price is the slope between the measured alphas at least this far below and above alpha*: a
# tenth of the path between the two models, the default grid's step. Nearer alphas (an adaptive
# search's) differ by a few held-out images, so their slope is mostly noise; farther ones measure
# the path away from alpha*. Larger: a smoother, less local price; smaller: a noisier one. Not
# the grid's step by definition: with a finer grid the price would then come from noisier pairs.
PRICE_SPAN = 0.1
# The price is multiplied by this (< 1), so that a move trading support for patch accuracy at
# exactly the global path's rate still climbs the guide (towards the limit, where the best feasible
# mixes are) instead of tying with standing still. 1: such moves tie, and only strictly better
# trades move the search; 0: no price, the guide is the objective, and the search cannot leave
# alpha* when the limit binds; in general, trades up to (1 - discount) worse than the global path's climb.
PRICE_DISCOUNT = 0.9
# Beyond the support limit the guide falls this many times faster per point of excess than it
# falls per point of support drop within it, so that the search stays near the limit (where the
# mixes it measures include the best feasible one) rather than wandering into infeasible mixes,
# which spend budget and are never selected. Lower: more budget spent beyond the limit; much
# higher: a move that crosses the limit by a hair looks as bad as any infeasible one.
OVER_LIMIT = 10.0


def mix_objective(
    columns: Sequence[TaskCounts], zero_shot: TaskCounts, roles: Mapping[str, str], settings: SweepSettings
) -> list[float]:
    """The sweep's selection objective of each column (``-inf`` where infeasible)."""
    if not columns:
        return []
    curves = curves_of(columns, zero_shot, roles)
    return objective(curves, settings.criterion, settings.max_support_drop, settings.max_task_drop)


def guide(
    columns: Sequence[TaskCounts],
    zero_shot: TaskCounts,
    roles: Mapping[str, str],
    settings: SweepSettings,
    price: float,
    over_limit: float = OVER_LIMIT,
) -> list[float]:
    """What a search climbs: ``patch - price * drop``, and ``over_limit`` times steeper beyond the limit.

    ``drop`` is the support drop the criterion limits. Without a price (``mean``, or no support
    tasks, or no positive price) the guide is the objective itself.

    Args:
        columns: Held-out counts of each mix.
        zero_shot: Held-out counts of the zero-shot model.
        roles: Task name -> role.
        settings: The sweep's settings (criterion and limits).
        price: Patch points per support point (:func:`support_price`).
        over_limit: How many times faster the guide falls per point beyond the limit (:data:`OVER_LIMIT`).

    Returns:
        The guide of each column.
    """
    if settings.criterion == "mean" or price <= 0:
        return mix_objective(columns, zero_shot, roles, settings)
    if not columns:
        return []
    curves = curves_of(columns, zero_shot, roles)
    limit = settings.max_support_drop or 0.0
    out = []
    for i in range(len(columns)):
        drop = curves.support_drop(i, settings.criterion)
        over = max(0.0, limit_excess(curves, i, settings.criterion, limit, settings.max_task_drop))
        out.append(curves.patch_mean(i) - price * drop - over_limit * price * over)
    return out


def support_price(
    table: Mapping[Mix, TaskCounts],
    roles: Mapping[str, str],
    settings: SweepSettings,
    alpha: float,
    span: float = PRICE_SPAN,
    discount: float = PRICE_DISCOUNT,
) -> float:
    """Patch points per support point along the global path around alpha*, discounted (0 without support tasks).

    The slope of patch accuracy against the support drop between the measured alphas nearest to
    ``alpha - span`` and ``alpha + span`` (on the sides that exist); where that slope is not
    positive, the slope between the zero-shot and fine-tuned models; times ``discount``.

    Args:
        table: Held-out counts by mix (the global sweep's at least).
        roles: Task name -> role.
        settings: The sweep's settings (criterion).
        alpha: Alpha*.
        span: How far from alpha* the slope is measured (:data:`PRICE_SPAN`).
        discount: Factor on the slope (:data:`PRICE_DISCOUNT`).

    Returns:
        The price, 0 for ``mean``, without support tasks or without a positive slope.
    """
    if not any(role == "support" for role in roles.values()) or settings.criterion == "mean":
        return 0.0
    alphas = sorted(m.alpha for m in table if m.is_scalar)
    below = [a for a in alphas if a <= alpha - span + 1e-9]
    above = [a for a in alphas if a >= alpha + span - 1e-9]
    low = below[-1] if below else alpha
    high = above[0] if above else alpha
    for a, b in ((Mix.of(low), Mix.of(high)), (ZERO_SHOT, FINE_TUNED)):
        if a == b or a not in table or b not in table:
            continue
        curves = curves_of([table[a], table[b]], table[ZERO_SHOT], roles)
        rise = curves.patch_mean(1) - curves.patch_mean(0)
        run = curves.support_drop(1, settings.criterion) - curves.support_drop(0, settings.criterion)
        if run > 0 and rise > 0 and math.isfinite(rise / run):
            return discount * rise / run
    return 0.0
