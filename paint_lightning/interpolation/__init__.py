"""Pure maths of weight interpolation: mixes of end points, and combining them.

Choosing among mixes from held-out accuracies is :mod:`paint_lightning.selection`.
"""

from paint_lightning.interpolation.combine import Endpoints, InPlaceCombiner, combine, tower_tensors, write_mix
from paint_lightning.interpolation.mix import Coefficient, Mix, group_order, parameter_group
from paint_lightning.interpolation.paint import interpolate

__all__ = [
    "Coefficient",
    "Endpoints",
    "InPlaceCombiner",
    "Mix",
    "combine",
    "group_order",
    "interpolate",
    "parameter_group",
    "tower_tensors",
    "write_mix",
]
