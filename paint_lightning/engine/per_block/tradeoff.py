"""Scoring mixes by counts: the selection objective, and the guide a search climbs.

Under a constrained criterion the objective is the patch accuracy of mixes within the support
limit; alpha* sits where the limit binds, so no single coefficient can rise without crossing it,
and lowering one (to free support accuracy for another) scores worse on its own. A search that
climbed the objective would stop at alpha*. The *guide* prices support accuracy instead:
``patch - price * support_drop``, where ``price`` is the patch accuracy the global path gains per
point of support it gives up around alpha*. A move that frees support accuracy at a lower cost
in patch accuracy than the global path charges climbs the guide; the mix finally chosen is still
the best by the criterion itself among everything measured. The price is discounted
(``PRICE_DISCOUNT``) so that a path exactly as good as the global one still climbs towards the
limit, and the guide falls ``OVER`` times faster beyond the limit, so that the search stays near
it (where the mixes it measures include the best feasible one). For ``mean`` the guide
is the objective (it already trades one point of support for one of patch).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from paint_lightning.engine.counts import TaskCounts, curves_of
from paint_lightning.engine.sweep_settings import SweepSettings
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix
from paint_lightning.selection.criteria import limit_excess, objective

PRICE_SPAN = 0.1  # alphas at least this far on each side of alpha* measure the price
PRICE_DISCOUNT = 0.9
OVER = 10.0  # how much steeper the guide falls beyond the support limit


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
) -> list[float]:
    """What a search climbs: ``patch - price * drop``, and ``OVER`` times steeper beyond the limit.

    ``drop`` is the support drop the criterion limits. Without a price (``mean``, or no support
    tasks, or no positive price) the guide is the objective itself.
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
        out.append(curves.patch_mean(i) - price * drop - OVER * price * over)
    return out


def support_price(
    table: Mapping[Mix, TaskCounts], roles: Mapping[str, str], settings: SweepSettings, alpha: float
) -> float:
    """Patch points per support point along the global path around alpha*, discounted (0 without support tasks).

    The slope of patch accuracy against the support drop between the measured alphas nearest to
    ``alpha - PRICE_SPAN`` and ``alpha + PRICE_SPAN`` (on the sides that exist); where that slope
    is not positive, the slope between the zero-shot and fine-tuned models.
    """
    if not any(role == "support" for role in roles.values()) or settings.criterion == "mean":
        return 0.0
    alphas = sorted(m.alpha for m in table if m.is_scalar)
    below = [a for a in alphas if a <= alpha - PRICE_SPAN + 1e-9]
    above = [a for a in alphas if a >= alpha + PRICE_SPAN - 1e-9]
    low = below[-1] if below else alpha
    high = above[0] if above else alpha
    for a, b in ((Mix.of(low), Mix.of(high)), (ZERO_SHOT, FINE_TUNED)):
        if a == b or a not in table or b not in table:
            continue
        curves = curves_of([table[a], table[b]], table[ZERO_SHOT], roles)
        rise = curves.patch_mean(1) - curves.patch_mean(0)
        run = curves.support_drop(1, settings.criterion) - curves.support_drop(0, settings.criterion)
        if run > 0 and rise > 0 and math.isfinite(rise / run):
            return PRICE_DISCOUNT * rise / run
    return 0.0
