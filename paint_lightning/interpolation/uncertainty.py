"""How much to trust a selection made on held-out data of finite size.

Each held-out accuracy is a binomial estimate with standard error ``100 * sqrt(p (1 - p) / n)``
points. Its noise carries into the selection objective; candidates whose objective lies within
one standard error of the best are statistically tied with it, and when the objective varies
less across all candidates than its own noise, the choice among them is noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from paint_lightning.interpolation.selection import Criterion


def objective_stderr(
    patch_stderr: Mapping[str, float], support_stderr: Mapping[str, float], criterion: Criterion
) -> float:
    """Standard error (points) of the selection objective at one candidate.

    ``mean`` averages the patch mean and the support mean; the constrained criteria maximise the
    patch mean. Tasks are independent samples.
    """
    patch = mean_stderr(patch_stderr.values())
    if criterion != "mean" or not support_stderr:
        return patch
    support = mean_stderr(support_stderr.values())
    return 0.5 * math.sqrt(patch * patch + support * support)


def tied_indices(objective: Sequence[float], best: int, stderr: float) -> list[int]:
    """Candidates whose objective is within one standard error of the best's (the best included)."""
    if not math.isfinite(objective[best]) or not math.isfinite(stderr):
        return [best]
    return [i for i, value in enumerate(objective) if math.isfinite(value) and value >= objective[best] - stderr]


def selection_warnings(
    objective: Sequence[float],
    best: int,
    stderr: float,
    support_mean_stderr: float | None,
    max_support_drop: float | None,
    sizes: Mapping[str, int],
) -> list[str]:
    """Plain-language warnings when the held-out sets are too small for the choice to mean much.

    Args:
        objective: The objective of every candidate (``-inf`` when infeasible).
        best: Index of the chosen candidate.
        stderr: Standard error of the objective at the chosen candidate.
        support_mean_stderr: Standard error of the support tasks' mean accuracy (None without
            support tasks).
        max_support_drop: The constrained criteria's limit in points (None for ``mean``).
        sizes: Held-out examples per task.
    """
    warnings = []
    feasible = [value for value in objective if math.isfinite(value)]
    smallest = min(sizes, key=lambda task: sizes[task]) if sizes else None
    size_text = f"(smallest: {sizes[smallest]} images of {smallest})" if smallest is not None else ""
    if len(feasible) > 1 and math.isfinite(stderr):
        spread = max(feasible) - min(feasible)
        if spread < 2.0 * stderr:
            warnings.append(
                f"the selection objective varies by {spread:.2f} points across the candidates, less than twice its "
                f"standard error ({stderr:.2f} points) on these held-out sets {size_text}: the choice among them is "
                "noise. Hold out more images (data.heldout_fraction, data.heldout_max) or use a coarser grid."
            )
    if max_support_drop is not None and support_mean_stderr is not None and support_mean_stderr > max_support_drop:
        warnings.append(
            f"the support tasks' held-out accuracy has a standard error of {support_mean_stderr:.2f} points, more than "
            f"the {max_support_drop:g}-point limit (sweep.max_support_drop) it is checked against: hold out more "
            "support images (data.heldout_fraction, data.heldout_max) for the limit to mean something."
        )
    return warnings


def mean_stderr(stderrs: Iterable[float]) -> float:
    """Standard error of the mean of independent estimates with these standard errors."""
    values = list(stderrs)
    if not values:
        return math.nan
    return math.sqrt(sum(s * s for s in values)) / len(values)
