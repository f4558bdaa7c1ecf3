"""The trained tower and averaging callbacks: which weights a sweep evaluates.

* Under DDP the processes' BatchNorm statistics differ; the sweep and the export use them pooled
  across processes (:mod:`paint_lightning.callbacks.batchnorm`).
* Lightning's ``WeightAveraging`` (EMA, SWA) keeps an averaged copy of the model and puts it in
  place at the end of training (and in checkpoints). :func:`averaged_model` finds that copy so
  the sweep evaluates the averaged weights, the ones that will be exported.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import LightningModule, Trainer


def averaged_model(trainer: Trainer) -> LightningModule | None:
    """The averaged copy of the model kept by a ``WeightAveraging`` callback, if one is active.

    Raises:
        RuntimeError: If a ``WeightAveraging`` callback is present but its averaged model cannot be
            read (a Lightning version this project does not know).
    """
    try:
        from lightning.pytorch.callbacks import WeightAveraging
    except ImportError:  # older Lightning: no such callback
        return None
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(callback, WeightAveraging):
            if not hasattr(callback, "_average_model"):
                raise RuntimeError(
                    "InterpolationSweep cannot find the averaged weights of WeightAveraging in this Lightning "
                    "version; remove the WeightAveraging callback or use lightning>=2.6,<2.7."
                )
            average: Any = callback._average_model
            return None if average is None else average.module
    return None
