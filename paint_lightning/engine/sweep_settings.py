"""What an alpha sweep evaluates and how it chooses: :class:`SweepSettings`, checked when built."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from paint_lightning.interpolation.mix import rounded
from paint_lightning.selection.criteria import CRITERIA, Criterion
from paint_lightning.selection.search import grid_alphas


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
        alphas = tuple(sorted({rounded(a) for a in self.alphas}))
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
