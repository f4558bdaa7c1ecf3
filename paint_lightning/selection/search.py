"""Which alphas to evaluate: a fixed grid, or a coarse grid refined around the best."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

# Alphas are rounded so that 0.1 + 0.2 and 0.3 name the same point of a sweep.
_DIGITS = 6


def grid_alphas(step: float = 0.1, low: float = 0.0, high: float = 1.0) -> list[float]:
    """Evenly spaced alphas from ``low`` to ``high`` inclusive."""
    if step <= 0:
        raise ValueError(f"alpha step must be positive, got {step}")
    count = round((high - low) / step)
    return [round(low + i * step, _DIGITS) for i in range(count + 1)]


def adaptive_alpha_search(
    score: Callable[[Sequence[float]], dict[float, float]],
    coarse: Sequence[float],
    resolution: float = 0.01,
    refine_points: int = 4,
) -> tuple[float, dict[float, float]]:
    """Finds the best-scoring alpha to ``resolution`` with few evaluations.

    Evaluates ``coarse``, then repeatedly evaluates ``refine_points`` evenly spaced alphas on each
    side of the current best within one coarse step, shrinking the step until it reaches
    ``resolution``. On a unimodal curve this finds the optimum of the ``resolution`` grid with
    about ``len(coarse) + 2 * refine_points * levels`` evaluations instead of ``1 / resolution``.

    Args:
        score: Evaluates a batch of new alphas and returns ``{alpha: score}`` (higher is better).
            Called once per refinement level, so one pass over the data per level.
        coarse: The first grid, sorted.
        resolution: The finest step.
        refine_points: New alphas on each side of the best per level.

    Returns:
        ``(best_alpha, all_scores)``; ties go to the smaller alpha.
    """
    if not coarse:
        raise ValueError("adaptive search needs a non-empty coarse grid")
    scores = dict(score([round(a, _DIGITS) for a in coarse]))
    low, high = min(coarse), max(coarse)
    step = _largest_gap(sorted(scores))
    while step > resolution + 1e-12:
        best = _best(scores)
        new_step = max(step / (refine_points + 1), resolution)
        new_step = round(round(new_step / resolution) * resolution, _DIGITS) or resolution
        candidates = []
        offset = new_step
        while offset < step - 1e-9:
            for alpha in (best - offset, best + offset):
                alpha = round(alpha, _DIGITS)
                if low - 1e-9 <= alpha <= high + 1e-9 and alpha not in scores:
                    candidates.append(alpha)
            offset += new_step
        if candidates:
            scores.update(score(sorted(candidates)))
        step = new_step
    return _best(scores), dict(sorted(scores.items()))


def _best(scores: dict[float, float]) -> float:
    return max(scores, key=lambda alpha: (scores[alpha], -alpha))


def _largest_gap(alphas: Sequence[float]) -> float:
    gaps = [b - a for a, b in itertools.pairwise(alphas)]
    return max(gaps, default=0.0)
