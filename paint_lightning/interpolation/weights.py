"""Interpolating weights: ``theta(alpha) = (1 - alpha) * theta_start + alpha * theta_end``.

Everything here uses ``torch.lerp``, which returns ``start`` exactly at ``alpha = 0`` and ``end``
exactly at ``alpha = 1``, so the end points of a sweep reproduce the zero-shot and fine-tuned
models bit for bit. Non-floating tensors (counters, integer buffers) are taken from ``end``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor


def interpolate_state(start: Mapping[str, Tensor], end: Mapping[str, Tensor], alpha: float) -> dict[str, Tensor]:
    """Interpolates two state dicts with the same keys; returns new tensors.

    Args:
        start: Weights at ``alpha = 0`` (the zero-shot model).
        end: Weights at ``alpha = 1`` (the fine-tuned model).
        alpha: Mixing coefficient; values outside ``[0, 1]`` extrapolate.
    """
    _check_same_keys(start, end)
    return {
        key: torch.lerp(start[key], value, alpha) if value.is_floating_point() else value.clone()
        for key, value in end.items()
    }


def task_vector(finetuned: Mapping[str, Tensor], start: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``finetuned - start`` for every floating-point tensor (the direction patching moved in)."""
    _check_same_keys(start, finetuned)
    return {key: value - start[key] for key, value in finetuned.items() if value.is_floating_point()}


def add_task_vectors(
    start: Mapping[str, Tensor],
    vectors: Sequence[Mapping[str, Tensor]],
    coefficients: Sequence[float],
) -> dict[str, Tensor]:
    """``start + sum_i coefficients[i] * vectors[i]``: parallel patching's combination.

    With one vector this equals :func:`interpolate_state` up to rounding.
    """
    if len(vectors) != len(coefficients):
        raise ValueError(f"{len(vectors)} task vectors but {len(coefficients)} coefficients")
    out = {key: value.clone() for key, value in start.items()}
    for vector, coefficient in zip(vectors, coefficients, strict=True):
        for key, delta in vector.items():
            out[key].add_(delta, alpha=coefficient)
    return out


class WeightInterpolator:
    """Moves live tensors along the line from ``start`` to their current values, in place.

    On entry the live (fine-tuned) values are copied once; :meth:`set_alpha` then writes
    ``lerp(start, fine_tuned, alpha)`` into the live tensors with fused multi-tensor ops (no
    per-alpha model copies); on exit the fine-tuned values are copied back exactly. Peak extra
    memory is one copy of the tensors (plus ``start``, which the caller owns).

    Args:
        live: The tensors a model computes with (parameters and float buffers), in a fixed order.
        start: Tensors of the same shapes at ``alpha = 0``, in the same order.
    """

    def __init__(self, live: Sequence[Tensor], start: Sequence[Tensor]) -> None:
        if len(live) != len(start):
            raise ValueError(f"{len(live)} live tensors but {len(start)} start tensors")
        for index, (a, b) in enumerate(zip(live, start, strict=True)):
            if a.shape != b.shape or not a.is_floating_point():
                raise ValueError(f"tensor {index}: live {tuple(a.shape)} {a.dtype} vs start {tuple(b.shape)}")
        self.live = list(live)
        self.start = list(start)
        self._end: list[Tensor] | None = None
        self.alpha = 1.0

    def __enter__(self) -> WeightInterpolator:
        with torch.no_grad():
            self._end = [tensor.detach().clone() for tensor in self.live]
        self.alpha = 1.0
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.restore()
        self._end = None

    @torch.no_grad()
    def set_alpha(self, alpha: float) -> None:
        """Writes ``lerp(start, fine_tuned, alpha)`` into the live tensors."""
        if self._end is None:
            raise RuntimeError("WeightInterpolator.set_alpha called outside its `with` block")
        if alpha == self.alpha:
            return
        torch._foreach_copy_(self.live, self.start)
        torch._foreach_lerp_(self.live, self._end, float(alpha))
        self.alpha = alpha

    @torch.no_grad()
    def restore(self) -> None:
        """Puts the fine-tuned values back, bit for bit."""
        if self._end is not None and self.alpha != 1.0:
            torch._foreach_copy_(self.live, self._end)
        self.alpha = 1.0


def _check_same_keys(a: Mapping[str, Tensor], b: Mapping[str, Tensor]) -> None:
    if a.keys() != b.keys():
        only_a = sorted(set(a) - set(b))[:5]
        only_b = sorted(set(b) - set(a))[:5]
        raise KeyError(f"state dicts differ: only in first {only_a}, only in second {only_b}")
