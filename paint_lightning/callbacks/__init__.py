"""Callbacks: the interpolation sweep and what it reports."""

from paint_lightning.callbacks.sweep import InterpolationSweep

__all__ = ["InterpolationSweep"]
