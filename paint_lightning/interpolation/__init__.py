"""Pure maths of weight interpolation: interpolating, task vectors, selecting alpha, searching."""

from paint_lightning.interpolation.search import adaptive_alpha_search, grid_alphas
from paint_lightning.interpolation.selection import Criterion, SweepCurves, select_alpha
from paint_lightning.interpolation.weights import (
    WeightInterpolator,
    add_task_vectors,
    interpolate_state,
    task_vector,
)

__all__ = [
    "Criterion",
    "SweepCurves",
    "WeightInterpolator",
    "adaptive_alpha_search",
    "add_task_vectors",
    "grid_alphas",
    "interpolate_state",
    "select_alpha",
    "task_vector",
]
