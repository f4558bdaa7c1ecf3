"""Paired statistics: telling two candidates apart on the same held-out images.

Every candidate is evaluated on the same images, so two candidates' accuracies differ only on the
images one classifies correctly and the other does not (the *discordant* images). Per task with
``n`` images, ``b`` of them right for candidate A only and ``c`` for B only, the accuracy
difference is ``d = (b - c) / n``, and under "A and B are equally good" (McNemar's test) its
variance is ``(b + c) / n^2``: far tighter than two independent binomial errors when the
candidates agree on most images, and never 0 when they differ (one discordant image of one:
``d = 1`` with standard error 1).

The selection objective is a weighted mean of task accuracies (:func:`objective_weights`), tasks
are independent, so a difference of objectives is ``D = sum w_t d_t`` with variance
``sum w_t^2 (b_t + c_t) / n_t^2``. Two candidates are *told apart* when ``D != 0`` and
``|D| - correction >= z * stderr`` at ``z =`` :data:`~paint_lightning.selection.uncertainty.Z`
(1.0, about 68%, the level of the Wilson intervals), with McNemar's continuity correction of one
image (``max w_t / n_t`` over the tasks with discordant images): for one task, ``b = 1, c = 0``
or ``b = 2, c = 0`` are not told apart, ``b = 3, c = 0`` is (as McNemar's exact test at the same
level). Candidates not measured in the same pass (no image-by-image comparison) are compared as
if their errors were independent: the discordance rate is then ``pa (1 - pb) + pb (1 - pa)``.

:func:`required_images` inverts the test: how many images per task, at the observed per-image
rates, would tell two candidates apart. :func:`bonferroni_z` raises ``z`` for the best of many
candidates compared with one reference (the per-block search's ``accept: paired``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from paint_lightning.selection.criteria import Criterion
from paint_lightning.selection.uncertainty import Z

PairedTask = tuple[float, float, int]
"""``(d, v, n)`` of one task: accuracy difference per image ``(b - c) / n``, discordance rate
``(b + c) / n`` and the number of images ``n``."""


def paired_task(right_only_a: int, right_only_b: int, total: int) -> PairedTask:
    """One task's ``(d, v, n)`` from its discordant counts ``b`` (A right, B wrong) and ``c`` (the reverse)."""
    n = max(total, 1)
    return ((right_only_a - right_only_b) / n, (right_only_a + right_only_b) / n, total)


def unpaired_task(correct_a: int, correct_b: int, total: int) -> PairedTask:
    """One task's ``(d, v, n)`` from two accuracies alone, as if A's and B's errors were independent."""
    n = max(total, 1)
    pa, pb = correct_a / n, correct_b / n
    return (pa - pb, pa * (1.0 - pb) + pb * (1.0 - pa), total)


def objective_weights(patch: Sequence[str], support: Sequence[str], criterion: Criterion) -> dict[str, float]:
    """The weight of each task's accuracy in the selection objective.

    ``mean``: half the patch mean plus half the support mean (the patch mean alone without
    support tasks); the constrained criteria: the patch mean (the support tasks only decide which
    candidates are feasible).
    """
    if not patch:
        return {}
    if criterion != "mean" or not support:
        return {name: 1.0 / len(patch) for name in patch}
    return {**{name: 0.5 / len(patch) for name in patch}, **{name: 0.5 / len(support) for name in support}}


@dataclass(frozen=True)
class PairedDifference:
    """The objective of A minus B, in points, with its paired standard error and continuity correction."""

    difference: float
    stderr: float
    correction: float

    def told_apart(self, z: float = Z) -> bool:
        """Whether the difference reaches ``z`` standard errors after the continuity correction (and is not 0)."""
        return self.difference != 0.0 and abs(self.difference) - self.correction >= z * self.stderr


def paired_difference(tasks: Mapping[str, PairedTask], weights: Mapping[str, float]) -> PairedDifference:
    """A's objective minus B's from each weighted task's ``(d, v, n)`` (see :func:`paired_task`).

    ``difference = 100 sum w_t d_t``, ``stderr = 100 sqrt(sum w_t^2 v_t / n_t)``, ``correction =
    100 max w_t / n_t`` over the tasks with discordant images (0 if there are none).
    """
    items = [(weights[name], *tasks[name]) for name in weights]
    difference = sum(w * d for w, d, _, _ in items)
    variance = sum(w * w * v / n for w, _, v, n in items if n > 0)
    correction = max((w / n for w, _, v, n in items if v > 0 and n > 0), default=0.0)
    return PairedDifference(100.0 * difference, 100.0 * math.sqrt(variance), 100.0 * correction)


def required_images(tasks: Mapping[str, PairedTask], weights: Mapping[str, float], z: float = Z) -> int | None:
    """Images per task at which the test of :func:`paired_difference` tells A from B, at the observed rates.

    With every task at ``n`` images the test reads ``|D| - m / n >= z sqrt(S / n)`` (``D = sum w_t
    d_t``, ``S = sum w_t^2 v_t``, ``m = max w_t`` over the tasks with discordant images); the
    boundary is ``n = (z sqrt(S) + sqrt(z^2 S + 4 m |D|))^2 / (4 D^2)``, rounded up: the test
    tells A from B from that many images per task on (at these rates). Without the
    correction this is ``z^2 S / D^2``, the usual sample size.

    Returns:
        The number of images per task, or None when ``D`` is 0 (no number of images resolves
        two candidates that score the same).
    """
    items = [(weights[name], *tasks[name]) for name in weights]
    difference = abs(sum(w * d for w, d, _, _ in items))
    if difference == 0.0:
        return None
    spread = sum(w * w * v for w, _, v, _ in items)
    step = max((w for w, _, v, _ in items if v > 0), default=0.0)
    root = z * math.sqrt(spread)
    boundary = (root + math.sqrt(root * root + 4.0 * step * difference)) ** 2 / (4.0 * difference * difference)
    return max(1, math.ceil(boundary - 1e-9))


def bonferroni_z(z: float, comparisons: int) -> float:
    """The one-sided threshold that keeps the level of ``z`` over ``comparisons`` tries (Bonferroni).

    A one-sided test at ``z`` wrongly finds an improvement with probability ``1 - Phi(z)``; the
    best of ``comparisons`` candidates, each tested at ``Phi^-1(1 - (1 - Phi(z)) / comparisons)``,
    does so at most as often whatever their dependence. ``z = 1`` (:data:`~paint_lightning.selection.
    uncertainty.Z`): 1.0 for one try, 2.15 for 10, 2.65 for 40, 2.79 for 60.
    """
    if comparisons <= 1:
        return z
    normal = NormalDist()
    return normal.inv_cdf(1.0 - (1.0 - normal.cdf(z)) / comparisons)
