"""PAINT's alpha sweep as a library: measure candidates on held-out data, search, select.

:func:`sweep_alphas` needs only a ``measure`` function (candidates -> :class:`Counts`, e.g.
:meth:`~paint_lightning.engine.sweeper.Sweeper.count` over the held-out loaders) and the task
roles; the Lightning callback, ``paint validate`` and ``paint sweep`` all use it. Counts already
known (the zero-shot model's, measured once per run; the live weights' from Lightning's own
validation loop) are passed in and never measured again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from paint_lightning.engine.counts import Counts, TaskCounts
from paint_lightning.engine.record import FINE_TUNED, ZERO_SHOT, curves, sweep_record
from paint_lightning.interpolation.mix import Mix
from paint_lightning.interpolation.search import adaptive_alpha_search, grid_alphas
from paint_lightning.interpolation.selection import CRITERIA, Criterion, objective

Measure = Callable[[list[Mix]], Counts]


@dataclass(frozen=True)
class SweepSettings:
    """What to sweep and how to choose.

    Attributes:
        alphas: Alphas to evaluate (default ``0.0, 0.1, ..., 1.0``); with ``search: adaptive``
            the coarse grid.
        criterion: ``mean``: maximise the mean of patch and support accuracy (the paper's);
            ``constrained``: maximise patch accuracy with no support task more than
            ``max_support_drop`` points below zero-shot; ``constrained_mean``: the same limit on
            the support tasks' average drop.
        max_support_drop: Points of support accuracy the constrained criteria may give up.
        max_task_drop: Support task name -> points that task may give up on its own, on top of
            ``max_support_drop`` (constrained criteria only), e.g. ``{digits: 1.0}``; ``paint
            sequential`` sets it for the tasks patched by earlier steps (``max_earlier_drop``).
        start_name: What alpha = 0 is called in reports: ``zero-shot``, or ``start`` for a run
            that starts from a patched model (``paint sequential`` sets it after the first step).
        search: ``grid`` evaluates exactly ``alphas``; ``adaptive`` refines around the best down
            to ``resolution``.
        resolution: Finest alpha step of the adaptive search.
        allow_extrapolation: Permit alphas outside ``[0, 1]``.
        field: Config path of these settings, for error messages.
    """

    alphas: tuple[float, ...] = field(default_factory=lambda: tuple(grid_alphas(0.1)))
    criterion: Criterion = "mean"
    max_support_drop: float | None = None
    max_task_drop: Mapping[str, float] | None = field(default=None, hash=False)
    start_name: str = "zero-shot"
    search: Literal["grid", "adaptive"] = "grid"
    resolution: float = 0.01
    allow_extrapolation: bool = False
    field: str = "sweep"

    def __post_init__(self) -> None:
        alphas = tuple(sorted({round(float(a), 6) for a in self.alphas}))
        object.__setattr__(self, "alphas", alphas)
        f = self.field
        if not alphas:
            raise ValueError(f"{f}.alphas is empty; give at least one alpha, e.g. [0.0, 0.1, ..., 1.0].")
        outside = [a for a in alphas if not 0.0 <= a <= 1.0]
        if outside and not self.allow_extrapolation:
            raise ValueError(
                f"{f}.alphas has {outside} outside [0, 1]; these extrapolate beyond the zero-shot or "
                f"fine-tuned model. Set {f}.allow_extrapolation=true if that is intended."
            )
        if self.criterion not in CRITERIA:
            raise ValueError(f"{f}.criterion={self.criterion!r}: use one of {', '.join(CRITERIA)}.")
        if self.criterion != "mean" and (self.max_support_drop is None or self.max_support_drop < 0):
            raise ValueError(
                f"{f}.max_support_drop={self.max_support_drop}: criterion {self.criterion!r} needs a "
                "non-negative number of points, e.g. 1.0."
            )
        self._check_task_limits()
        if not isinstance(self.start_name, str) or not self.start_name.strip():
            raise ValueError(f"{f}.start_name={self.start_name!r}: give a name for alpha = 0, e.g. zero-shot or start.")
        if self.search not in ("grid", "adaptive"):
            raise ValueError(f"{f}.search={self.search!r}: use grid or adaptive.")
        if not self.resolution > 0:
            raise ValueError(f"{f}.resolution={self.resolution}: must be positive, e.g. 0.01.")

    def _check_task_limits(self) -> None:
        f = self.field
        if self.max_task_drop is None:
            return
        limits = dict(self.max_task_drop)
        if self.criterion == "mean" and limits:
            raise ValueError(
                f"{f}.max_task_drop={limits}: per-task limits need {f}.criterion constrained or constrained_mean "
                "(criterion 'mean' has no limits); set the criterion and its max_support_drop, or drop the limits."
            )
        for name, limit in limits.items():
            if not isinstance(limit, (int, float)) or isinstance(limit, bool) or not 0 <= limit < math.inf:
                raise ValueError(
                    f"{f}.max_task_drop[{name!r}]={limit!r}: give a non-negative number of points, e.g. 1.0."
                )
        object.__setattr__(self, "max_task_drop", {str(n): float(v) for n, v in limits.items()})

    def check_roles(self, roles: Mapping[str, str]) -> None:
        """Refuses per-task limits on tasks that are not support tasks of this run.

        Raises:
            ValueError: Naming the field, the tasks and the support tasks.
        """
        support = [name for name, role in roles.items() if role == "support"]
        unknown = sorted(set(self.max_task_drop or {}) - set(support))
        if unknown:
            raise ValueError(
                f"{self.field}.max_task_drop names {unknown}, which are not support tasks of this run (support "
                f"tasks: {support or 'none'}): limit support tasks only, or add them to data.support."
            )

    def describe(self) -> str:
        """The criterion in words, for reports."""
        if self.criterion == "mean":
            return "max mean(patch accuracy, support accuracy)"
        which = "the support tasks on average" if self.criterion == "constrained_mean" else "every support task"
        text = f"max patch accuracy with {which} within {self.max_support_drop:g} points of {self.start_name}"
        if self.max_task_drop:
            each = ", ".join(f"{name} within {limit:g}" for name, limit in self.max_task_drop.items())
            text += f", and on its own: {each}"
        return text


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
            sweep = curves(table, roles, list(alphas))
            values = objective(sweep, settings.criterion, settings.max_support_drop, settings.max_task_drop)
            return dict(zip(alphas, values, strict=True))

        adaptive_alpha_search(score, list(settings.alphas), settings.resolution)
    record = sweep_record(sorted(candidates), roles, table, settings)
    return record, table
