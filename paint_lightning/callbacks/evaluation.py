"""Evaluating many alphas in one pass over the data.

Each batch is read, decoded and moved to the device once per pass. Batches are staged on the
device in chunks (up to a memory budget); for every alpha the image tower is interpolated in
place once per chunk and the whole chunk is classified. With the whole evaluation set in one
chunk this is one weight interpolation per alpha, the least possible.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from paint_lightning.interpolation.weights import WeightInterpolator
from paint_lightning.rng import preserved_rng

Batch = tuple[int, Tensor, Tensor]


@torch.no_grad()
def count_correct(
    module: Any,
    loaders: Mapping[str, DataLoader],
    alphas: Sequence[float],
    device: torch.device,
    chunk_bytes: int,
    forward_context: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
) -> tuple[Tensor, Tensor]:
    """Counts correct predictions of every task at every alpha, on this process's shard.

    Args:
        module: A :class:`~paint_lightning.PaintModule` (anything with ``interpolation_tensors``,
            ``task_index`` and ``forward(images, task)``).
        loaders: Task name -> loader of ``(images, labels)``.
        alphas: Alphas to evaluate.
        device: Where the model is.
        chunk_bytes: Largest size of images staged on the device at once.
        forward_context: Makes the context that wraps forward passes (autocast for mixed
            precision), e.g. ``trainer.precision_plugin.forward_context``.

    Returns:
        ``(correct, total)``: int64 tensors of shape ``(num_tasks, len(alphas))`` and
        ``(num_tasks,)`` on ``device``, rows in ``module.task_specs`` order. Sum them across
        processes for the global counts.
    """
    num_tasks = len(module.task_specs)
    correct = torch.zeros(num_tasks, len(alphas), dtype=torch.long, device=device)
    total = torch.zeros(num_tasks, dtype=torch.long, device=device)
    if not alphas:
        return correct, total
    names = [spec.name for spec in module.task_specs]
    # Alpha 1 first: the live weights need no interpolation.
    order = sorted(range(len(alphas)), key=lambda j: alphas[j] != 1.0)
    live, start = module.interpolation_tensors()
    was_training = module.training
    module.eval()
    try:
        with preserved_rng(), WeightInterpolator(live, start) as weights:
            for chunk in _chunks(_batches(loaders, names, device), chunk_bytes):
                for task, _, labels in chunk:
                    total[task] += labels.numel()
                for j in order:
                    weights.set_alpha(alphas[j])
                    with forward_context() if forward_context else contextlib.nullcontext():
                        for task, images, labels in chunk:
                            predictions = module(images, names[task]).argmax(dim=-1)
                            correct[task, j] += (predictions == labels).sum()
    finally:
        module.train(was_training)
    return correct, total


def _batches(loaders: Mapping[str, DataLoader], names: list[str], device: torch.device) -> Iterator[Batch]:
    for name, loader in loaders.items():
        task = names.index(name)
        for batch in loader:
            images, labels = batch[0], batch[1]
            yield (
                task,
                images.to(device, non_blocking=True),
                torch.as_tensor(labels).to(device, non_blocking=True),
            )


def _chunks(batches: Iterator[Batch], chunk_bytes: int) -> Iterator[list[Batch]]:
    chunk: list[Batch] = []
    size = 0
    for batch in batches:
        chunk.append(batch)
        size += batch[1].nbytes
        if size >= chunk_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk
