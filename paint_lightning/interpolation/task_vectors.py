"""Task vectors ``tau_i = theta_i - theta_0`` computed one tensor at a time, and their global quantiles.

Merging never holds every task vector at once: :class:`TaskVectors` computes the task vectors of
one tensor name (stacked over the end points, float32) on the compute device when asked, moving
only that tensor of the start and end points there. Whole-vector statistics (TIES's per-task
magnitude thresholds) are computed in passes over the names with memory of one tensor:
:func:`kth_largest_magnitudes` finds the exact k-th largest ``|tau_i|`` by a two-pass radix
selection on the float32 bit patterns (for non-negative floats the bit pattern, read as an
integer, orders like the value), so it equals ``torch.kthvalue`` on the concatenated vector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from paint_lightning.interpolation.combine import Endpoints

_BINS = 1 << 16  # 16 bits of the float32 pattern per pass
_NON_FINITE = 0x7F80  # the high 16 bits of float32 inf; nan's are above


class TaskVectors:
    """The task vectors of ``ends`` from ``start``, one floating-point tensor name at a time.

    Args:
        start: Name -> tensor of the start point (any device).
        ends: The end points, same names and shapes (any device, e.g. the host).
        device: Where task vectors are computed (default: the start point's first tensor's).

    Raises:
        ValueError: If names, shapes or floating-point-ness of the end points differ from the start's.
    """

    def __init__(
        self,
        start: Mapping[str, Tensor],
        ends: Sequence[Mapping[str, Tensor]],
        device: torch.device | str | None = None,
    ) -> None:
        Endpoints(start, ends)  # checks names, shapes and dtype kinds, naming the first difference
        self.start = start
        self.ends = ends
        self.names = [name for name, tensor in start.items() if tensor.is_floating_point()]
        first = next(iter(start.values()), None)
        self.device = torch.device(device) if device is not None else (first.device if first is not None else None)

    def __len__(self) -> int:
        return len(self.ends)

    @property
    def numel(self) -> int:
        """Entries of one task vector (all its tensors together)."""
        return sum(self.start[name].numel() for name in self.names)

    def stacked(self, name: str) -> Tensor:
        """``tau_i[name]`` for every end point, stacked (end points x shape), float32, on the device."""
        start = self.start[name].to(self.device).float()
        out = torch.empty((len(self.ends), *start.shape), dtype=torch.float32, device=self.device)
        for i, end in enumerate(self.ends):
            torch.sub(end[name].to(self.device).float(), start, out=out[i])
        return out


def kth_largest_magnitudes(vectors: TaskVectors, keep: int) -> Tensor:
    """The ``keep``-th largest ``|tau_i|`` over each whole task vector (one value per end point).

    Exactly the value ``torch.kthvalue(|tau_i|, numel - keep + 1)`` gives on the concatenation of
    all tensors, found in two passes over the names with memory of one tensor (no concatenation).

    Raises:
        ValueError: If a task vector has a non-finite entry (its magnitudes have no order), or
            ``keep`` is not in ``[1, numel]``.
    """
    n, total = len(vectors), vectors.numel
    if not 1 <= keep <= total:
        raise ValueError(f"keep={keep}: give a number of entries in [1, {total}]")
    rank = torch.full((n,), total - keep + 1, dtype=torch.int64, device=vectors.device)  # 1-based, ascending
    offsets = (torch.arange(n, dtype=torch.int32, device=vectors.device) * _BINS).unsqueeze(1)
    counts = torch.zeros(n * _BINS, dtype=torch.int64, device=vectors.device)
    for name in vectors.names:
        high = _magnitude_bits(vectors, name) >> 16
        histogram = torch.bincount((high + offsets).flatten(), minlength=n * _BINS).view(n, _BINS)
        damaged = histogram[:, _NON_FINITE:].sum(dim=1) > 0  # inf and nan have the largest patterns
        if bool(damaged.any()):
            i = int(damaged.nonzero()[0])
            raise ValueError(f"task vector of end point {i} has a non-finite entry in {name!r}: damaged weights")
        counts += histogram.flatten()
    high, rank = _select(counts.view(n, _BINS), rank)
    counts = counts.view(n, _BINS)
    counts.zero_()
    for name in vectors.names:
        bits = _magnitude_bits(vectors, name)
        for i in range(n):  # only the entries in the selected bin of the high bits
            inside = bits[i][(bits[i] >> 16) == high[i].to(torch.int32)] & (_BINS - 1)
            counts[i] += torch.bincount(inside, minlength=_BINS)
    low, _ = _select(counts, rank)
    return ((high << 16) | low).to(torch.int32).view(torch.float32)


def _magnitude_bits(vectors: TaskVectors, name: str) -> Tensor:
    """The bit patterns of ``|tau_i[name]|`` as int32 (end points x entries)."""
    return vectors.stacked(name).flatten(1).abs_().view(torch.int32)


def _select(counts: Tensor, rank: Tensor) -> tuple[Tensor, Tensor]:
    """Per row, the bin holding the ``rank``-th entry and the entry's rank inside that bin."""
    cumulative = counts.cumsum(dim=1)
    index = torch.searchsorted(cumulative, rank.unsqueeze(1)).squeeze(1)
    before = torch.where(index > 0, cumulative.gather(1, (index - 1).clamp(min=0).unsqueeze(1)).squeeze(1), 0)
    return index, rank - before
