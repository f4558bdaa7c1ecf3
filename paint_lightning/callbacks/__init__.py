"""Callbacks: the interpolation sweep and what it leaves behind, and preemption checkpoints."""

from paint_lightning.callbacks.interpolation_sweep import InterpolationSweep
from paint_lightning.callbacks.preemption import PreemptionCheckpoint

__all__ = ["InterpolationSweep", "PreemptionCheckpoint"]
