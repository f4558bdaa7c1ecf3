"""Pure maths of weight interpolation: mixes of end points, combining, selecting, searching."""

from paint_lightning.interpolation.combine import Endpoints, InPlaceCombiner, combine, tower_tensors, write_mix
from paint_lightning.interpolation.mix import Coefficient, Mix, group_order, parameter_group
from paint_lightning.interpolation.search import adaptive_alpha_search, grid_alphas
from paint_lightning.interpolation.selection import Criterion, SweepCurves, select_alpha

__all__ = [
    "Coefficient",
    "Criterion",
    "Endpoints",
    "InPlaceCombiner",
    "Mix",
    "SweepCurves",
    "adaptive_alpha_search",
    "combine",
    "grid_alphas",
    "group_order",
    "parameter_group",
    "select_alpha",
    "tower_tensors",
    "write_mix",
]
