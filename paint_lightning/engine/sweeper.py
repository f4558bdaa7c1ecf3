"""Evaluating many candidate mixes in one pass over the data.

Each batch is read, decoded and moved to the device once per pass. Batches are staged on the
device in chunks (up to a memory budget); for every candidate the tower's weights are set once
per chunk (in place, :class:`~paint_lightning.interpolation.combine.InPlaceCombiner`) and the
whole chunk is classified. With the whole evaluation set in one chunk this is one weight update
per candidate, the least possible. Nothing here depends on Lightning: the fit loop, ``paint
validate``, the final test report and ``paint sweep`` all call :meth:`Sweeper.count`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from paint_lightning.data.cache import to_device
from paint_lightning.data.samplers import IGNORE_LABEL, counted
from paint_lightning.engine.counts import Counts, Reduce
from paint_lightning.engine.protocol import Patchable, patch_tensors, reshard
from paint_lightning.interpolation.combine import InPlaceCombiner
from paint_lightning.interpolation.mix import FINE_TUNED, Mix
from paint_lightning.rng import preserved_rng

Batch = tuple[int, Tensor, Tensor]
ForwardContext = Callable[[], contextlib.AbstractContextManager[Any]]


class Sweeper:
    """Counts correct predictions of a patchable model at candidate mixes of its end points.

    Args:
        model: The model (see :class:`~paint_lightning.engine.protocol.Patchable`).
        device: Where the model is; batches are moved there.
        chunk_bytes: Largest size of images staged on the device at once.
        forward_context: Makes the context that wraps forward passes (autocast for mixed
            precision), e.g. ``trainer.precision_plugin.forward_context``.
        reduce: Sums a tensor across processes (``None``: one process).
        ends: End points other than the model's live weights (name -> tensor, as
            :func:`~paint_lightning.engine.protocol.patch_tensors` names them), e.g. several
            fine-tuned models for parallel patching or a weight-averaged copy; ``None``: the live
            weights are the one end point.
        convert_input: Applied to every image batch on the device (e.g. the precision plugin's
            ``convert_input``, which casts images to bf16 under ``bf16-true``).
    """

    def __init__(
        self,
        model: Patchable,
        device: torch.device | str,
        chunk_bytes: int,
        forward_context: ForwardContext | None = None,
        reduce: Reduce | None = None,
        ends: Sequence[Mapping[str, Tensor]] | None = None,
        convert_input: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        if chunk_bytes < 1:
            raise ValueError(f"chunk_bytes={chunk_bytes}: must be positive")
        self.model = model
        self.device = torch.device(device)
        self.chunk_bytes = chunk_bytes
        self.forward_context = forward_context
        self.reduce = reduce
        self.ends = ends
        self.convert_input = convert_input

    @property
    def tasks(self) -> list[str]:
        """Task names, in the model's order (the rows of :class:`Counts`)."""
        return [spec.name for spec in self.model.task_specs]

    @torch.no_grad()
    def count(self, loaders: Mapping[str, Iterable[Any]], candidates: Sequence[Mix]) -> Counts:
        """Counts over all processes, one pass over the data.

        Args:
            loaders: Task name -> iterable of ``(images, labels, ...)`` batches of this
                process's shard (every example in exactly one process's shard); a
                :class:`~paint_lightning.data.cache.ByteBatch` is moved as uint8 and finished
                on the device.
            candidates: The mixes to evaluate.

        Returns:
            Counts summed across processes, on the CPU.

        Raises:
            ValueError: If a task has no examples in any process.
        """
        tasks = self.tasks
        counts = Counts.zeros(tasks, candidates, self.device)
        if candidates:
            self._count(loaders, list(candidates), counts)
        counts = counts.reduced(self.reduce)
        empty = [task for task, n in zip(tasks, counts.total.tolist(), strict=True) if task in loaders and n == 0]
        if empty:
            raise ValueError(f"tasks {empty}: evaluation set is empty; cannot measure accuracy.")
        return counts

    def _count(self, loaders: Mapping[str, Iterable[Any]], candidates: list[Mix], counts: Counts) -> None:
        tasks = counts.tasks
        # The live weights first: they need no update.
        order = sorted(range(len(candidates)), key=lambda j: candidates[j] != FINE_TUNED or self.ends is not None)
        live, start = patch_tensors(self.model)
        module = self.model
        was_training = module.training
        module.eval()
        try:
            refresh = lambda: reshard(module)  # noqa: E731
            with preserved_rng(), InPlaceCombiner(live, start, self.ends, after_write=refresh) as combiner:
                batches = _batches(loaders, tasks, self.device, self.convert_input)
                for chunk in _in_step(_chunks(batches, self.chunk_bytes), self.reduce, self.device):
                    for task, _, labels in chunk:
                        counts.total[task] += counted(labels).sum()
                    right: list[list[Tensor]] = [[] for _ in chunk]  # per batch, in the order of `order`
                    for j in order:
                        combiner.set(candidates[j])
                        with self.forward_context() if self.forward_context else contextlib.nullcontext():
                            for b, (task, images, labels) in enumerate(chunk):
                                right[b].append(add_counts(counts, task, j, module(images, tasks[task]), labels))
                    for b, (task, _, _) in enumerate(chunk):
                        add_pairs(counts, task, order, right[b])
        finally:
            module.train(was_training)


def add_counts(counts: Counts, task: int, candidate: int, logits: Tensor, labels: Tensor) -> Tensor:
    """Adds one batch's correct predictions and summed cross-entropy (placeholders skipped).

    Returns:
        The batch's per-image correctness (bool; placeholders False), for :func:`add_pairs`.
    """
    right = (logits.argmax(dim=-1) == labels) & counted(labels)
    counts.correct[task, candidate] += right.sum()
    counts.loss[task, candidate] += F.cross_entropy(logits.double(), labels, reduction="sum", ignore_index=IGNORE_LABEL)
    return right


def add_pairs(counts: Counts, task: int, candidates: Sequence[int], right: Sequence[Tensor]) -> None:
    """Adds one batch's discordant images for every pair of candidates (:attr:`Counts.discordant`).

    ``right[k]`` is the per-image correctness of candidate ``candidates[k]``. One small matrix
    product: ``R (1 - R)^T`` counts, for every pair ``(i, j)``, the images ``i`` gets right and
    ``j`` wrong (in float64: exact; outside any autocast context).
    """
    if counts.discordant is None or not right:
        return
    r = torch.stack(list(right)).double()
    pairs = (r @ (1.0 - r).T).round().long()
    index = torch.as_tensor(list(candidates), device=pairs.device)
    counts.discordant[task][index[:, None], index[None, :]] += pairs


def _batches(
    loaders: Mapping[str, Iterable[Any]],
    tasks: list[str],
    device: torch.device,
    convert: Callable[[Tensor], Tensor] | None,
) -> Iterator[Batch]:
    for name, loader in loaders.items():
        task = tasks.index(name)
        for batch in loader:
            images, labels = to_device(batch, device)  # uint8 batches (ByteBatch) are finished there
            yield task, convert(images) if convert is not None else images, labels


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


def _in_step(chunks: Iterator[list[Batch]], reduce: Reduce | None, device: torch.device) -> Iterator[list[Batch]]:
    """``chunks``, checked to be the same on every process (batches and images per chunk).

    Under FSDP every forward is a collective that gathers the weights of the candidate being
    evaluated: processes must run the same forwards in the same order, chunk by chunk, or they
    wait for each other forever (NCCL), crash (gloo) or mix shards of different candidates. One
    small collective per chunk (and one at the end) turns a mismatch into an error on every process.
    """
    if reduce is None:
        yield from chunks
        return
    for chunk in itertools.chain(chunks, [None]):
        plan = [len(chunk), sum(int(images.shape[0]) for _, images, _ in chunk)] if chunk is not None else [0, 0]
        local = torch.tensor([1, *plan, *(x * x for x in plan)], dtype=torch.float64, device=device)
        world, *sums = reduce(local).cpu().tolist()
        if any(world * squares != total * total for total, squares in zip(sums[:2], sums[2:], strict=True)):
            raise RuntimeError(
                f"evaluation batches differ between processes (this one: {plan[0]} batches of {plan[1]} images in "
                "its next chunk): every process must run the same batches, since under FSDP every forward is a "
                "collective. The DataModule's eval_dataloader must give every process a shard of the same size "
                "(padded with items labelled -100, as PaintDataModule does)."
            )
        if chunk is not None:
            yield chunk
