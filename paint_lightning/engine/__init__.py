"""The interpolation engine: evaluating mixes of end points on held-out data, selecting, reporting.

Independent of the Lightning fit loop: :class:`Sweeper` counts correct predictions of a
:class:`Patchable` model at candidate mixes (one pass over the data per chunk, exact integer
counts summed across processes); :func:`sweep_alphas` runs PAINT's alpha search on top of it.
"""

from paint_lightning.engine.alpha_sweep import SweepSettings, measure_missing, sweep_alphas
from paint_lightning.engine.counts import Counts, TaskCounts
from paint_lightning.engine.protocol import OpenCLIPExport, Patchable, patch_tensors
from paint_lightning.engine.sweeper import Sweeper

__all__ = [
    "Counts",
    "OpenCLIPExport",
    "Patchable",
    "SweepSettings",
    "Sweeper",
    "TaskCounts",
    "measure_missing",
    "patch_tensors",
    "sweep_alphas",
]
