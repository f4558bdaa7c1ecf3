"""PAINT's alpha sweep as a library: measure candidates on held-out data, search, choose alpha*.

:func:`sweep_alphas` needs only a ``measure`` function (candidates -> :class:`Counts`, e.g.
:meth:`~paint_lightning.engine.sweeper.Sweeper.count` over the held-out loaders) and the task
roles; the Lightning callback, ``paint validate`` and ``paint sweep`` all use it. Counts already
known (the zero-shot model's, measured once per run; the live weights' from Lightning's own
validation loop) are passed in and never measured again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from paint_lightning.engine.counts import Counts, TaskCounts, curves_of
from paint_lightning.engine.record import sweep_record
from paint_lightning.engine.sweep_settings import SweepSettings
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix
from paint_lightning.selection.criteria import objective, select_alpha
from paint_lightning.selection.search import adaptive_alpha_search

Measure = Callable[[list[Mix]], Counts]


def measure_missing(table: dict[Mix, TaskCounts], measure: Measure, mixes: Sequence[Mix]) -> None:
    """Measures the mixes of ``mixes`` that ``table`` lacks (in one pass) and adds them."""
    todo = list(dict.fromkeys(m for m in mixes if m not in table))
    if todo:
        counts = measure(todo)
        for mix in todo:
            table[mix] = counts.column(mix)


def sweep_alphas(
    measure: Measure,
    roles: Mapping[str, str],
    settings: SweepSettings,
    known: Mapping[Mix, TaskCounts] | None = None,
) -> tuple[dict[str, Any], dict[Mix, TaskCounts]]:
    """Evaluates the alphas of ``settings`` on held-out data and selects alpha*.

    The zero-shot (alpha 0) and fine-tuned (alpha 1) models are always measured (they are the
    references of the report and of the constraints), candidates or not.

    Args:
        measure: Counts of a list of mixes over the held-out sets (all processes).
        roles: Task name -> ``patch`` or ``support`` (or another role, reported only).
        settings: Alphas, criterion, search.
        known: Counts already measured (e.g. the zero-shot model's); not measured again.

    Returns:
        ``(record, table)``: the sweep as plain data (see
        :func:`~paint_lightning.engine.record.sweep_record`) and every count measured or known.
    """
    settings.check_roles(roles)
    table: dict[Mix, TaskCounts] = dict(known or {})
    measure_missing(table, measure, [*(Mix.of(a) for a in settings.alphas), ZERO_SHOT, FINE_TUNED])
    candidates = set(settings.alphas)
    if settings.search == "adaptive":

        def score(alphas: Sequence[float]) -> dict[float, float]:
            measure_missing(table, measure, [Mix.of(a) for a in alphas])
            candidates.update(alphas)
            sweep = curves_of([table[Mix.of(a)] for a in alphas], table[ZERO_SHOT], roles, alphas)
            values = objective(sweep, settings.criterion, settings.max_support_drop, settings.max_task_drop)
            return dict(zip(alphas, values, strict=True))

        adaptive_alpha_search(score, list(settings.alphas), settings.resolution)
    alphas = sorted(candidates)
    sweep = curves_of([table[Mix.of(a)] for a in alphas], table[ZERO_SHOT], roles, alphas)
    index, _ = select_alpha(sweep, settings.criterion, settings.max_support_drop, settings.max_task_drop)  # alpha*
    return sweep_record(alphas, roles, table, settings, selected=index), table
