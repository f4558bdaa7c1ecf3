"""Combining named weights: ``theta = theta_0 + sum_i c_i (theta_i - theta_0)``.

One kernel, :func:`write_mix`, computes a :class:`~paint_lightning.interpolation.mix.Mix` of
end points into destination tensors with fused multi-tensor ops. It serves both ways weights
are combined, so that what is evaluated is what is exported:

* :class:`InPlaceCombiner` writes mixes into a live model's tensors (the sweep: no model copies)
  and puts the live values back bit for bit afterwards;
* :func:`combine` returns a new state dict (pure; for end points held outside a model).

Exactness: where a tensor has one non-zero coefficient, the kernel is ``lerp(start, end, c)``,
which returns ``start`` exactly at ``c = 0`` and ``end`` exactly at ``c = 1``; several non-zero
coefficients add ``c_i * (end_i - start)`` to ``start``. Tensors whose dtype differs from the
start point's (a bf16 model around an fp32 start point) are computed in float32 and rounded once.

Non-floating-point tensors (BatchNorm's ``num_batches_tracked``, index buffers) are never
interpolated: they take the start point's value unless some coefficient of their group is
positive, and then the value of the end point with the largest coefficient (the first on ties).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from paint_lightning.interpolation.mix import Mix, parameter_group

Grouping = Callable[[str], str]


class Endpoints:
    """A start point and end points: tensors matched by name, checked once.

    Args:
        start: Name -> tensor at the start point (zero-shot, or an earlier patched model).
        ends: One name -> tensor mapping per end point (fine-tuned models), same names and shapes.
        grouping: Parameter group of a tensor name (default :func:`parameter_group`).

    Raises:
        ValueError: If names, shapes or floating-point-ness differ, naming the first differences.
    """

    def __init__(
        self,
        start: Mapping[str, Tensor],
        ends: Sequence[Mapping[str, Tensor]],
        grouping: Grouping = parameter_group,
    ) -> None:
        if not ends:
            raise ValueError("need at least one end point")
        self.names = list(start)
        for index, end in enumerate(ends):
            _check_match(start, end, f"end point {index}")
        self.start = [start[name] for name in self.names]
        self.ends = [[end[name] for name in self.names] for end in ends]
        self.groups = [grouping(name) for name in self.names]

    @property
    def num_ends(self) -> int:
        """How many end points there are."""
        return len(self.ends)

    def check(self, mix: Mix, field_name: str = "coefficients") -> None:
        """Checks that ``mix`` has one term per end point and covers this tower's groups.

        Raises:
            ValueError: Naming what does not fit.
        """
        if mix.num_ends != self.num_ends:
            raise ValueError(
                f"{field_name}: {mix.num_ends} coefficient(s) ({mix.label()}) for {self.num_ends} end point(s)"
            )
        mix.check_groups(self.groups, field_name)


@torch.no_grad()
def write_mix(destination: Sequence[Tensor], endpoints: Endpoints, mix: Mix, stream: bool | None = None) -> None:
    """Writes ``mix`` of ``endpoints`` into ``destination`` (one tensor per name, same order).

    ``destination`` may alias an end point only where that end point's coefficient is the sole
    non-zero one (the copy of ``start`` comes first); :class:`InPlaceCombiner` keeps a separate
    copy of the live values for that reason.

    End points held elsewhere than ``destination`` (on the host, while the model is on a device
    too small for them all) are *streamed*: moved one parameter group at a time, so the device
    holds one group of every end point at a time. ``stream`` forces that (``True``) or the
    all-at-once path (``False``); ``None`` streams where an end point is on another device. The
    result is the same bit for bit (the kernel is elementwise).
    """
    endpoints.check(mix)
    if stream is None:
        stream = any(end[i].device != t.device for end in endpoints.ends for i, t in enumerate(destination))
    coefficients = mix.per_tensor(endpoints.groups)
    buckets: dict[tuple[tuple[float, ...], bool], list[int]] = defaultdict(list)
    for index, (tensor, coefficient) in enumerate(zip(destination, coefficients, strict=True)):
        if not tensor.is_floating_point():
            _write_exact(tensor, endpoints, index, coefficient)
            continue
        uniform = tensor.dtype == endpoints.start[index].dtype and all(
            end[index].dtype == tensor.dtype for end in endpoints.ends
        )
        buckets[(coefficient, uniform)].append(index)
    for (coefficient, uniform), indices in buckets.items():
        for part in _by_group(indices, endpoints.groups) if stream else [indices]:
            _write_part(destination, endpoints, part, coefficient, uniform)


def _by_group(indices: list[int], groups: Sequence[str]) -> list[list[int]]:
    """``indices`` split by parameter group (one group's tensors at a time on the device)."""
    parts: dict[str, list[int]] = defaultdict(list)
    for i in indices:
        parts[groups[i]].append(i)
    return list(parts.values())


def _write_part(
    destination: Sequence[Tensor],
    endpoints: Endpoints,
    indices: list[int],
    coefficient: tuple[float, ...],
    uniform: bool,
) -> None:
    """Writes the tensors ``indices`` (moving the start and end points' to the destination's device)."""
    dst = [destination[i] for i in indices]
    start = [endpoints.start[i].to(destination[i].device) for i in indices]
    ends = [[end[i].to(destination[i].device) for i in indices] for end in endpoints.ends]
    if uniform:
        _fused(dst, start, ends, coefficient)
    else:  # compute in float32, round once
        for j, target in enumerate(dst):
            work = [start[j].float().clone()]
            _fused(work, [start[j].float()], [[end[j].float()] for end in ends], coefficient)
            target.copy_(work[0])


def _fused(dst: list[Tensor], start: list[Tensor], ends: list[list[Tensor]], coefficient: tuple[float, ...]) -> None:
    torch._foreach_copy_(dst, start)
    active = [k for k, value in enumerate(coefficient) if value != 0.0]
    if len(active) == 1:
        torch._foreach_lerp_(dst, ends[active[0]], float(coefficient[active[0]]))
        return
    for k in active:
        torch._foreach_add_(dst, torch._foreach_sub(ends[k], start), alpha=float(coefficient[k]))


def _write_exact(tensor: Tensor, endpoints: Endpoints, index: int, coefficient: tuple[float, ...]) -> None:
    best = max(range(len(coefficient)), key=lambda k: (coefficient[k], -k))
    source = endpoints.ends[best][index] if coefficient[best] > 0 else endpoints.start[index]
    if source is not tensor:
        tensor.copy_(source)


def combine(endpoints: Endpoints, mix: Mix) -> dict[str, Tensor]:
    """``mix`` of ``endpoints`` as a new name -> tensor mapping (the start point's dtypes)."""
    out = [tensor.detach().clone() for tensor in endpoints.start]
    write_mix(out, endpoints, mix)
    return dict(zip(endpoints.names, out, strict=True))


class InPlaceCombiner:
    """Writes mixes into a model's live tensors; restores the live values bit for bit on exit.

    On entry the live values are copied once (the only extra memory: one copy of the tower).
    Without ``ends`` that copy is the only end point, so ``Mix.of(1.0)`` is the live model itself
    (PAINT's fine-tuned end) and needs no work.

    Args:
        live: Name -> tensor the model computes with (e.g. ``tower_tensors(model.visual)``).
        start: Name -> start-point tensor, same names.
        ends: End points other than the live values (e.g. several fine-tuned models, or a
            weight-averaged copy); ``None`` means the live values are the one end point.
        grouping: Parameter group of a tensor name.
        after_write: Called after the live tensors were written (e.g. to drop gathered copies of
            sharded parameters, which would otherwise hide the new values from the next forward).
    """

    def __init__(
        self,
        live: Mapping[str, Tensor],
        start: Mapping[str, Tensor],
        ends: Sequence[Mapping[str, Tensor]] | None = None,
        grouping: Grouping = parameter_group,
        after_write: Callable[[], None] | None = None,
    ) -> None:
        _check_match(start, live, "live model")
        self.names = list(start)
        self.live = [live[name] for name in self.names]
        self._start = start
        self._ends = ends
        self._grouping = grouping
        self._after_write = after_write
        self._backup: list[Tensor] | None = None
        self.endpoints: Endpoints | None = None
        self.current: Mix | None = None  # None: the live values

    def __enter__(self) -> InPlaceCombiner:
        with torch.no_grad():
            self._backup = [tensor.detach().clone() for tensor in self.live]
        backup = dict(zip(self.names, self._backup, strict=True))
        self.endpoints = Endpoints(self._start, self._ends or [backup], self._grouping)
        self.current = None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.restore()
        self._backup = None
        self.endpoints = None

    def set(self, mix: Mix) -> None:
        """Writes ``mix`` into the live tensors (nothing to do if they already hold it)."""
        if self.endpoints is None:
            raise RuntimeError("InPlaceCombiner.set called outside its `with` block")
        if mix == self.current:
            return
        self.endpoints.check(mix)
        if (
            self.current is None
            and self._ends is None
            and all(c == (1.0,) for c in mix.per_tensor(self.endpoints.groups))
        ):
            return  # the live values are this mix
        write_mix(self.live, self.endpoints, mix)
        self.current = mix
        if self._after_write is not None:
            self._after_write()

    @torch.no_grad()
    def restore(self) -> None:
        """Puts the live values back, bit for bit."""
        if self._backup is not None and self.current is not None:
            torch._foreach_copy_(self.live, self._backup)
            if self._after_write is not None:
                self._after_write()
        self.current = None


def tower_tensors(module: nn.Module) -> dict[str, Tensor]:
    """Name -> tensor of a module's parameters and persistent buffers (sharing their storage)."""
    return {name: tensor.detach() for name, tensor in module.state_dict(keep_vars=True).items()}


def _check_match(start: Mapping[str, Tensor], other: Mapping[str, Tensor], what: str) -> None:
    if start.keys() != other.keys():
        only_start = sorted(set(start) - set(other))[:5]
        only_other = sorted(set(other) - set(start))[:5]
        raise ValueError(
            f"{what} does not match the start point: only in start {only_start}, only in {what} {only_other}"
        )
    for name, tensor in start.items():
        theirs = other[name]
        if tensor.shape != theirs.shape:
            raise ValueError(f"{what}: {name} has shape {tuple(theirs.shape)}, the start point {tuple(tensor.shape)}")
        if tensor.is_floating_point() != theirs.is_floating_point():
            raise ValueError(f"{what}: {name} is {theirs.dtype}, the start point {tensor.dtype}")
