"""Callbacks: the interpolation sweep and what it leaves behind, and preemption checkpoints."""

from paint_lightning.callbacks.preemption import PreemptionCheckpoint
from paint_lightning.callbacks.sweep import InterpolationSweep

__all__ = ["InterpolationSweep", "PreemptionCheckpoint"]
