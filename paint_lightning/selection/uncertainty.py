"""How much to trust a selection made on held-out data of finite size.

Each held-out accuracy is a binomial estimate. Its binomial standard error
``100 * sqrt(p (1 - p) / n)`` is reported, but it is 0 at 0% and 100% however few the images,
so what decides (ties, warnings) and what is shown uses the **Wilson score interval** at
``z = 1`` (:data:`Z`, about 68%: the counterpart of ``± 1`` standard error), which stays honest at
the edges: 1 correct of 1 gives [50, 100]%, not 100 ± 0%. For large sets it is the estimate
``± 1`` standard error. A mean over independent tasks reaches below (above) its estimate by the
tasks' distances below (above) theirs combined in quadrature, divided by the number of tasks;
for one task that is the task's own Wilson interval.

The intervals are reported; ties and the "choice is noise" warning use paired statistics
(:mod:`~paint_lightning.selection.paired`, at the same ``z``), since every candidate is
evaluated on the same images.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from paint_lightning.selection.criteria import Criterion

Z = 1.0
"""Standard normal quantile of the intervals: 1.0, about 68% (the reach of ``± 1`` standard error)."""

Interval = tuple[float, float]
"""``(low, high)`` in points (%)."""

Estimate = tuple[float, float, float]
"""``(value, low, high)`` in points (%): an accuracy (or a mean of them) and its interval."""


def wilson_interval(correct: int, total: int, z: float = Z) -> Interval:
    """Wilson score interval of an accuracy of ``correct`` out of ``total``, in points (%).

    ``(p + z^2 / 2n) / (1 + z^2 / n)  ±  z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)``
    with ``p = correct / total``; NaN for an empty set.
    """
    if total <= 0:
        return (math.nan, math.nan)
    n = float(total)
    p = correct / n
    z2 = z * z
    centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n)
    half = z / (1.0 + z2 / n) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    return (100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half))


def mean_interval(estimates: Iterable[Estimate]) -> Estimate:
    """The mean of independent estimates and its interval (distances combined in quadrature)."""
    items = list(estimates)
    if not items:
        return (math.nan, math.nan, math.nan)
    k = len(items)
    value = sum(v for v, _, _ in items) / k
    below = math.sqrt(sum((v - lo) ** 2 for v, lo, _ in items)) / k
    above = math.sqrt(sum((hi - v) ** 2 for v, _, hi in items)) / k
    return (value, value - below, value + above)


def objective_interval(
    patch: Mapping[str, Estimate], support: Mapping[str, Estimate], criterion: Criterion
) -> Estimate:
    """The selection objective at one candidate and its interval.

    ``mean`` averages the patch mean and the support mean, each side's reach halved in
    quadrature (``0.5 * hypot``); the constrained criteria maximise the patch mean. Tasks are
    independent samples.
    """
    patch_mean = mean_interval(patch.values())
    support_mean = mean_interval(support.values()) if support else None
    return _objective(patch_mean, support_mean, criterion, _average_estimates)


def objective_stderr(
    patch_stderr: Mapping[str, float], support_stderr: Mapping[str, float], criterion: Criterion
) -> float:
    """Binomial standard error (points) of the selection objective at one candidate (reported only).

    ``mean`` averages the patch mean and the support mean (standard errors halved in quadrature);
    the constrained criteria maximise the patch mean. Tasks are independent samples.
    """
    patch = mean_stderr(patch_stderr.values())
    support = mean_stderr(support_stderr.values()) if support_stderr else None
    return _objective(patch, support, criterion, _average_stderrs)


_T = TypeVar("_T", float, Estimate)


def _objective(patch: _T, support: _T | None, criterion: Criterion, average: Callable[[_T, _T], _T]) -> _T:
    """The objective from the patch tasks' mean and the support tasks' mean (the one rule for both).

    ``mean`` averages the two (``average``: of estimates or of standard errors); the constrained
    criteria, and runs without support tasks, take the patch mean.
    """
    if criterion != "mean" or support is None:
        return patch
    return average(patch, support)


def _average_estimates(patch: Estimate, support: Estimate) -> Estimate:
    """The mean of two independent estimates; each side's reach is ``0.5 * hypot`` of theirs."""
    p_value, p_low, p_high = patch
    s_value, s_low, s_high = support
    value = (p_value + s_value) / 2
    below = 0.5 * math.hypot(p_value - p_low, s_value - s_low)
    above = 0.5 * math.hypot(p_high - p_value, s_high - s_value)
    return (value, value - below, value + above)


def _average_stderrs(patch: float, support: float) -> float:
    """Standard error of the mean of two independent estimates: ``0.5 * hypot`` of theirs.

    Written ``sqrt(p * p + s * s)`` as reports have always computed it: ``math.hypot`` rounds
    differently in the last bit for about one input in six, and reported numbers stay as they were.
    """
    return 0.5 * math.sqrt(patch * patch + support * support)


def selection_warnings(
    noise_spread: float | None,
    support_interval: Interval | None,
    max_support_drop: float | None,
    sizes: Mapping[str, int],
) -> list[str]:
    """Plain-language warnings when the held-out sets are too small for the choice to mean much.

    Args:
        noise_spread: How much the objective varies across the feasible candidates (points) when
            a paired test cannot tell the best from the worst of them
            (:mod:`~paint_lightning.selection.paired`); None when it can.
        support_interval: The interval of the support tasks' mean accuracy at the chosen candidate
            (None without support tasks).
        max_support_drop: The constrained criteria's limit in points (None for ``mean``).
        sizes: Held-out examples per task.
    """
    warnings = []
    smallest = min(sizes, key=lambda task: sizes[task]) if sizes else None
    size_text = f"(smallest: {sizes[smallest]} images of {smallest})" if smallest is not None else ""
    if noise_spread is not None:
        warnings.append(
            f"the selection objective varies by {noise_spread:.2f} points across the candidates, and a paired test "
            f"on these held-out sets {size_text} cannot tell the best one from the worst one (z = {Z:g}, about "
            f"{100 * _coverage():.0f}%): the choice among them is noise. Hold out more images "
            "(data.heldout_fraction, data.heldout_max) or use a coarser grid."
        )
    if max_support_drop is not None and support_interval is not None:
        half = (support_interval[1] - support_interval[0]) / 2
        if half > max_support_drop:
            warnings.append(
                f"the support tasks' held-out accuracy is known to ± {half:.2f} points (its "
                f"{100 * _coverage():.0f}% interval is {_text(support_interval)}), more than the "
                f"{max_support_drop:g}-point limit (sweep.max_support_drop) it is checked against: hold out more "
                "support images (data.heldout_fraction, data.heldout_max) for the limit to mean something."
            )
    return warnings


def interval_text(value: float, interval: Interval) -> str:
    """``81.43% [77.92, 84.43]``: an accuracy and its interval, for logs."""
    return f"{value:.2f}% {_text(interval)}"


def mean_stderr(stderrs: Iterable[float]) -> float:
    """Standard error of the mean of independent estimates with these standard errors."""
    values = list(stderrs)
    if not values:
        return math.nan
    return math.sqrt(sum(s * s for s in values)) / len(values)


def _text(interval: Interval) -> str:
    return f"[{interval[0]:.2f}, {interval[1]:.2f}]"


def _coverage() -> float:
    return math.erf(Z / math.sqrt(2.0))
