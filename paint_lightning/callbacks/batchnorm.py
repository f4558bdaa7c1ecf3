"""BatchNorm statistics of a tower pooled across processes, used for a sweep or an export only.

Under DDP every process updates BatchNorm running statistics on its own batches, so the
processes' towers differ. A sweep must evaluate one set of statistics on every process, and the
export must carry it; training, however, must go on from each process's own buffers, exactly as
without the sweep. :func:`pool_moments` is the maths (the pooled mean and variance of equal-weight
processes); :func:`pooled_batchnorm` puts the pooled statistics in place for the duration of a
``with`` block and restores the live buffers afterwards, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _NormBase


def pool_moments(means: Tensor, variances: Tensor) -> tuple[Tensor, Tensor]:
    """The mean and variance of the union of equal-weight groups, from each group's mean and variance.

    ``mean = mean_i(m_i)`` and ``var = mean_i(v_i + (m_i - mean)^2)`` (the law of total
    variance), not the mean of the variances. When every group has the same statistics the
    result is those statistics exactly.

    Args:
        means: ``[groups, ...]`` per-group means.
        variances: ``[groups, ...]`` per-group variances (of the same kind: biased or unbiased).

    Returns:
        ``(mean, variance)``, each of shape ``means.shape[1:]``.
    """
    mean = means.mean(dim=0)
    variance = (variances + (means - mean) ** 2).mean(dim=0)
    return mean, variance


def batchnorm_layers(tower: nn.Module) -> dict[str, _NormBase]:
    """Name (within ``tower``) -> BatchNorm-like layer that tracks running statistics."""
    return {
        name: module
        for name, module in tower.named_modules()
        if isinstance(module, _NormBase)
        and module.track_running_stats
        and module.running_mean is not None
        and module.running_var is not None
    }


@torch.no_grad()
def pooled_statistics(tower: nn.Module, gather: Callable[[Tensor], Tensor]) -> dict[str, Tensor]:
    """The running statistics of ``tower`` pooled across processes (collective), written nowhere.

    Args:
        tower: The module whose BatchNorm layers are pooled (the same structure on every process).
        gather: Stacks a tensor of every process along a new first dimension
            (``trainer.strategy.all_gather``).

    Returns:
        ``<layer>.running_mean`` / ``<layer>.running_var`` -> pooled tensor (the buffer's dtype and
        device); empty for towers without BatchNorm. ``num_batches_tracked`` is the same on every
        process (one update per step) and is left alone.
    """
    layers = batchnorm_layers(tower)
    if not layers:
        return {}
    means = [layer.running_mean.detach().reshape(-1) for layer in layers.values()]  # type: ignore[union-attr]
    variances = [layer.running_var.detach().reshape(-1) for layer in layers.values()]  # type: ignore[union-attr]
    flat = torch.stack([torch.cat(means).double(), torch.cat(variances).double()])
    gathered = torch.as_tensor(gather(flat))
    mean, variance = pool_moments(gathered[:, 0], gathered[:, 1])
    pooled: dict[str, Tensor] = {}
    offset = 0
    for name, layer in layers.items():
        buffer_mean, buffer_var = layer.running_mean, layer.running_var
        assert buffer_mean is not None and buffer_var is not None
        size = buffer_mean.numel()
        pooled[_key(name, "running_mean")] = mean[offset : offset + size].view_as(buffer_mean).to(buffer_mean)
        pooled[_key(name, "running_var")] = variance[offset : offset + size].view_as(buffer_var).to(buffer_var)
        offset += size
    return pooled


@contextmanager
def pooled_batchnorm(tower: nn.Module, gather: Callable[[Tensor], Tensor]) -> Iterator[dict[str, Tensor]]:
    """The tower with pooled running statistics inside the block; its own ones restored after.

    Collective on entry (:func:`pooled_statistics`). The live buffers are copied before and
    written back afterwards (also on an exception), bit for bit, so training continues from each
    process's own statistics.

    Yields:
        The pooled statistics (see :func:`pooled_statistics`).
    """
    pooled = pooled_statistics(tower, gather)
    buffers = dict(tower.named_buffers())
    saved = {name: buffers[name].detach().clone() for name in pooled}
    try:
        with torch.no_grad():
            for name, value in pooled.items():
                buffers[name].copy_(value)
        yield pooled
    finally:
        with torch.no_grad():
            for name, value in saved.items():
                buffers[name].copy_(value)


def _key(layer: str, buffer: str) -> str:
    return f"{layer}.{buffer}" if layer else buffer


TRAINING_BUFFERS = "paint_batchnorm_training_buffers"


def swap_in_pooled(checkpoint: dict[str, Any], pooled: Mapping[str, Tensor]) -> None:
    """Puts pooled statistics into a checkpoint's ``state_dict``, keeping the training buffers aside.

    The checkpoint then holds the weights that were evaluated and would be exported (``paint
    validate``/``test``/``export`` of it give the run's results); the process's own buffers go
    under ``TRAINING_BUFFERS`` so that resuming continues training exactly
    (:func:`restore_training_buffers`).

    Args:
        checkpoint: A Lightning checkpoint being saved.
        pooled: State-dict key -> pooled statistic (:meth:`SweepRuntime.synchronised`).
    """
    state = checkpoint["state_dict"]
    keys = [key for key in pooled if key in state]
    checkpoint[TRAINING_BUFFERS] = {key: state[key] for key in keys}
    checkpoint["state_dict"] = {**state, **{key: pooled[key] for key in keys}}


@torch.no_grad()
def restore_training_buffers(module: nn.Module, checkpoint: Mapping[str, Any]) -> None:
    """Writes the training buffers kept by :func:`swap_in_pooled` back into ``module`` (resume)."""
    buffers = dict(module.named_buffers())
    for key, value in checkpoint.get(TRAINING_BUFFERS, {}).items():
        if key in buffers:
            buffers[key].copy_(value)
