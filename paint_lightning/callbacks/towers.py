"""Which weights a sweep evaluates when Lightning's ``WeightAveraging`` (EMA, SWA) is active.

``WeightAveraging`` keeps an averaged copy of the model and puts it in place at the end of
training (and in checkpoints). :func:`averaged_model` finds that copy so the sweep evaluates the
averaged weights, the ones that will be exported. (BatchNorm statistics pooled across processes
for the sweep and the export: :mod:`paint_lightning.callbacks.batchnorm`.)

Lightning offers no public accessor for the averaged copy (2.6 up to its main branch): the
callback keeps it in ``_average_model``, a :class:`torch.optim.swa_utils.AveragedModel` created in
``setup("fit")``. The other public routes do not fit: its averaged weights are swapped into the
LightningModule only around Lightning's own validation loop (which the sweep replaces) and at
``on_train_end`` (whose order relative to the sweep's hooks depends on the callback list), and its
``on_save_checkpoint`` hands out a state dict, not the module the sweep evaluates. So this module reads
the attribute, checks what it finds, and fails loudly when a Lightning version moves it: the sweep
would otherwise evaluate and export the raw weights while the run ends with the averaged ones.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import LightningModule, Trainer
from torch.optim.swa_utils import AveragedModel

AVERAGED = "_average_model"  # WeightAveraging's (private) attribute holding the AveragedModel


def averaged_model(trainer: Trainer) -> LightningModule | None:
    """The averaged copy of the model kept by a ``WeightAveraging`` callback, if one is active.

    Returns:
        The averaged LightningModule (``AveragedModel.module``), or ``None`` without a
        ``WeightAveraging`` callback or before it made its copy (outside ``fit``).

    Raises:
        RuntimeError: If a ``WeightAveraging`` callback is present but its averaged model is not
            where this Lightning version was known to keep it (see the module docstring).
    """
    try:
        from lightning.pytorch.callbacks import WeightAveraging
    except ImportError:  # older Lightning: no such callback
        return None
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(callback, WeightAveraging):
            average: Any = getattr(callback, AVERAGED, _MISSING)
            if average is None:
                return None
            if not isinstance(average, AveragedModel):
                raise RuntimeError(
                    f"InterpolationSweep cannot find the averaged weights of {type(callback).__name__}: this "
                    f"Lightning version keeps no AveragedModel in WeightAveraging.{AVERAGED} (Lightning has no public "
                    "accessor for it). Without them the sweep would evaluate and export the raw weights; remove the "
                    "WeightAveraging callback, or use a Lightning version that keeps the averaged model there."
                )
            return average.module
    return None


_MISSING = object()
