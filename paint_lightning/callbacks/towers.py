"""The trained tower across processes and averaging callbacks: which weights a sweep evaluates.

* Under DDP every process updates BatchNorm running statistics on its own shard of the batches,
  so the processes' towers differ. :func:`sync_batchnorm` averages those statistics across
  processes before every sweep and export, so every process evaluates (and rank 0 exports) the
  same weights.
* Lightning's ``WeightAveraging`` (EMA, SWA) keeps an averaged copy of the model and puts it in
  place at the end of training (and in checkpoints). :func:`averaged_model` finds that copy so
  the sweep evaluates the averaged weights, the ones that will be exported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _NormBase


@torch.no_grad()
def sync_batchnorm(tower: nn.Module, mean: Callable[[Tensor], Tensor]) -> int:
    """Averages BatchNorm running means and variances of ``tower`` across processes, in place.

    Args:
        tower: The module whose BatchNorm layers are synchronised.
        mean: Averages a tensor across processes (``trainer.strategy.reduce(t, "mean")``).

    Returns:
        How many buffers were synchronised (0 for towers without BatchNorm).
    """
    buffers = [
        buffer
        for module in tower.modules()
        if isinstance(module, _NormBase) and module.track_running_stats
        for buffer in (module.running_mean, module.running_var)
        if buffer is not None
    ]
    if not buffers:
        return 0
    flat = torch.cat([b.detach().reshape(-1).double() for b in buffers])
    flat = mean(flat)
    offset = 0
    for buffer in buffers:
        size = buffer.numel()
        buffer.copy_(flat[offset : offset + size].view_as(buffer))
        offset += size
    return len(buffers)


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
