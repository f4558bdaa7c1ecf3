"""Coefficients that follow the depth of the tower: a low-dimensional family of per-block mixes.

LiNeS (Wang et al., "LiNeS: Post-training layer scaling prevents forgetting and enhances model
merging", ICLR 2025) scales the task vector of layer ``l`` of ``L`` by ``a + (b - a) l / (L - 1)``:
shallow layers, which hold general features, stay close to the pre-trained weights; deep layers
take more of the fine-tuning. Two numbers instead of one per parameter group, so a search over
them on a small held-out set has far fewer ways to fit its noise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from paint_lightning.interpolation.mix import group_order

_DIGITS = 6


def depth_schedule(groups: Iterable[str], level: float, slope: float) -> dict[str, float]:
    """Values changing linearly with depth: ``level`` on average, ``slope`` from first to last group.

    Groups are ordered as data flows through the tower (:func:`group_order`: ``embed``, blocks or
    stages by index, ``head``) and spaced evenly: with ``K`` groups, the ``k``-th (from 0) gets
    ``level + slope * (k / (K - 1) - 1/2)``, so the first gets ``level - slope / 2`` and the last
    ``level + slope / 2``. ``slope = 0`` is the global alpha ``level``; a positive slope keeps the
    shallow groups closer to the start point (LiNeS). Changing the slope alone *tilts* the
    schedule around its mean, moving interpolation from some groups to others.

    Raises:
        ValueError: For no groups.
    """
    ordered = group_order(groups)
    if not ordered:
        raise ValueError("a depth schedule needs at least one parameter group")
    if len(ordered) == 1:
        return {ordered[0]: round(level, _DIGITS)}
    last = len(ordered) - 1
    return {group: round(level + slope * (k / last - 0.5), _DIGITS) for k, group in enumerate(ordered)}


def slopes(values: Iterable[float]) -> list[float]:
    """Every difference of two values of a grid: the slopes a depth schedule may take on it."""
    grid = sorted(set(values))
    return sorted({round(b - a, _DIGITS) for a in grid for b in grid})


def as_scalar(values: Mapping[str, float]) -> float | None:
    """The common value when every group has the same one (a global alpha), else ``None``."""
    distinct = set(values.values())
    return next(iter(distinct)) if len(distinct) == 1 else None
