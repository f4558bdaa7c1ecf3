"""Choosing alpha from held-out accuracy curves.

Two criteria:

* ``"mean"`` (the paper's): maximise the mean of the patch accuracy and the support accuracy,
  each averaged over its tasks.
* ``"constrained"``: maximise the patch accuracy among alphas where no support task drops more
  than ``max_support_drop`` points below its zero-shot accuracy.
* ``"constrained_mean"``: the same, but the limit applies to the support tasks' *average* drop
  (one fragile support task may give up more if the others hold).

The constrained criteria also take per-task limits (``max_task_drop``: support task name ->
points): each named support task must stay within its own limit, on top of the criterion's limit
(``paint sequential`` uses them to protect every earlier patch on its own, not only through the
support mean).

Ties go to the smaller alpha: closer to the zero-shot model, so the safer choice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Criterion = Literal["mean", "constrained", "constrained_mean"]
CRITERIA: tuple[str, ...] = ("mean", "constrained", "constrained_mean")


@dataclass(frozen=True)
class SweepCurves:
    """Held-out accuracy (in %) per task at each alpha.

    Attributes:
        alphas: The alphas evaluated, in increasing order.
        patch: Patch task name -> one accuracy per alpha.
        support: Support task name -> one accuracy per alpha.
        zero_shot_support: Support task name -> accuracy of the starting (zero-shot) model.
    """

    alphas: Sequence[float]
    patch: Mapping[str, Sequence[float]]
    support: Mapping[str, Sequence[float]]
    zero_shot_support: Mapping[str, float]

    def __post_init__(self) -> None:
        if not self.alphas:
            raise ValueError("no alphas to choose from")
        if not self.patch:
            raise ValueError("at least one patch task is needed to choose alpha")
        for name, curve in {**self.patch, **self.support}.items():
            if len(curve) != len(self.alphas):
                raise ValueError(f"task {name!r}: {len(curve)} accuracies for {len(self.alphas)} alphas")
        missing = set(self.support) - set(self.zero_shot_support)
        if missing:
            raise ValueError(f"zero-shot accuracy missing for support tasks {sorted(missing)}")

    def patch_mean(self, index: int) -> float:
        """Mean patch accuracy at ``alphas[index]``."""
        return mean_or_nan(curve[index] for curve in self.patch.values())

    def support_mean(self, index: int) -> float:
        """Mean support accuracy at ``alphas[index]`` (NaN without support tasks)."""
        return mean_or_nan(curve[index] for curve in self.support.values())

    def max_support_drop(self, index: int) -> float:
        """Largest drop (points) of any support task below zero-shot at ``alphas[index]``."""
        drops = [self.zero_shot_support[n] - c[index] for n, c in self.support.items()]
        return max(drops, default=0.0)

    def mean_support_drop(self, index: int) -> float:
        """Average drop (points) of the support tasks below zero-shot at ``alphas[index]``."""
        drops = [self.zero_shot_support[n] - c[index] for n, c in self.support.items()]
        return mean_or_nan(drops) if drops else 0.0

    def support_drop(self, index: int, criterion: Criterion) -> float:
        """The drop that ``criterion`` limits: the average one for ``constrained_mean``, else the largest."""
        return self.mean_support_drop(index) if criterion == "constrained_mean" else self.max_support_drop(index)

    def task_drop(self, name: str, index: int) -> float:
        """Drop (points) of support task ``name`` below its zero-shot accuracy at ``alphas[index]``."""
        return self.zero_shot_support[name] - self.support[name][index]


def check_task_limits(curves: SweepCurves, criterion: Criterion, max_task_drop: Mapping[str, float] | None) -> None:
    """Refuses per-task limits that name no support task, or that come with the ``mean`` criterion.

    Raises:
        ValueError: Naming the tasks, the support tasks and the fix.
    """
    if not max_task_drop:
        return
    if criterion == "mean":
        raise ValueError(
            "per-task limits (max_task_drop) need a constrained criterion (constrained or constrained_mean); "
            "criterion 'mean' has no limits."
        )
    unknown = sorted(set(max_task_drop) - set(curves.support))
    if unknown:
        raise ValueError(
            f"max_task_drop names {unknown}, which are not support tasks (support tasks: {sorted(curves.support)})."
        )


def limit_excess(
    curves: SweepCurves,
    index: int,
    criterion: Criterion,
    max_support_drop: float,
    max_task_drop: Mapping[str, float] | None = None,
) -> float:
    """How far (points) the worst-kept limit is exceeded at ``alphas[index]`` (<= 0: every limit holds).

    The limits: ``max_support_drop`` on the drop ``criterion`` limits, and each task's own limit
    of ``max_task_drop``.
    """
    excess = curves.support_drop(index, criterion) - max_support_drop
    for name, limit in (max_task_drop or {}).items():
        excess = max(excess, curves.task_drop(name, index) - limit)
    return excess


def objective(
    curves: SweepCurves,
    criterion: Criterion,
    max_support_drop: float | None,
    max_task_drop: Mapping[str, float] | None = None,
) -> list[float]:
    """The score each alpha gets under ``criterion`` (higher is better; ``-inf`` = infeasible).

    ``max_task_drop`` (support task -> points) adds a limit per task to the constrained criteria.
    """
    check_task_limits(curves, criterion, max_task_drop)
    scores = []
    for index in range(len(curves.alphas)):
        patch = curves.patch_mean(index)
        if criterion == "mean":
            support = curves.support_mean(index)
            scores.append(patch if math.isnan(support) else (patch + support) / 2)
        elif criterion in ("constrained", "constrained_mean"):
            if max_support_drop is None:
                raise ValueError(f"criterion {criterion!r} needs max_support_drop (points)")
            feasible = curves.support_drop(index, criterion) <= max_support_drop + 1e-9 and all(
                curves.task_drop(name, index) <= limit + 1e-9 for name, limit in (max_task_drop or {}).items()
            )
            scores.append(patch if feasible else -math.inf)
        else:
            raise ValueError(f"unknown criterion {criterion!r}; use one of {', '.join(CRITERIA)}")
    return scores


def select_alpha(
    curves: SweepCurves,
    criterion: Criterion = "mean",
    max_support_drop: float | None = None,
    max_task_drop: Mapping[str, float] | None = None,
) -> tuple[int, float]:
    """Picks alpha by ``criterion`` (and the per-task limits ``max_task_drop``, if any).

    Returns:
        ``(index, alpha)`` of the best alpha. Under the constrained criteria, when no alpha is
        feasible (possible only if the grid lacks 0), the alpha that exceeds its limits least is
        returned (without per-task limits: the one with the smallest support drop).
    """
    scores = objective(curves, criterion, max_support_drop, max_task_drop)
    best = max(range(len(scores)), key=lambda i: (scores[i], -curves.alphas[i]))
    if scores[best] == -math.inf and not max_task_drop:
        best = min(range(len(scores)), key=lambda i: (curves.support_drop(i, criterion), curves.alphas[i]))
    elif scores[best] == -math.inf:
        limit = max_support_drop or 0.0
        best = min(
            range(len(scores)),
            key=lambda i: (limit_excess(curves, i, criterion, limit, max_task_drop), curves.alphas[i]),
        )
    return best, curves.alphas[best]


def limits_at(
    curves: SweepCurves,
    index: int,
    criterion: Criterion,
    max_support_drop: float | None,
    max_task_drop: Mapping[str, float] | None = None,
) -> dict[str, Any] | None:
    """Which limits held at ``alphas[index]``, as plain data (None for ``mean``: no limits).

    Returns:
        ``{"support": {"of": "mean" or "each", "limit", "drop", "held"}, "tasks": {name: {"limit",
        "drop", "held"}}}``: the criterion's limit on the support tasks' average (``mean``) or
        largest (``each``) drop, and each per-task limit, with the drops (points) at that alpha.
    """
    if criterion == "mean" or max_support_drop is None:
        return None
    drop = curves.support_drop(index, criterion)
    tasks = {}
    for name, limit in (max_task_drop or {}).items():
        task_drop = curves.task_drop(name, index)
        tasks[name] = {"limit": limit, "drop": task_drop, "held": task_drop <= limit + 1e-9}
    return {
        "support": {
            "of": "mean" if criterion == "constrained_mean" else "each",
            "limit": max_support_drop,
            "drop": drop,
            "held": drop <= max_support_drop + 1e-9,
        },
        "tasks": tasks,
    }


def mean_or_nan(values: Iterable[float]) -> float:
    """The mean of ``values``; NaN when there are none (a role without tasks, in arithmetic)."""
    items = list(values)
    return sum(items) / len(items) if items else math.nan


def mean_or_none(values: Iterable[float]) -> float | None:
    """The mean of ``values``; ``None`` when there are none (a role without tasks, in a report)."""
    items = list(values)
    return sum(items) / len(items) if items else None
