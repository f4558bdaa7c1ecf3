"""Merging several fine-tuned models into one end point (parallel patching), data-free.

Every method combines the *task vectors* ``tau_i = theta_i - theta_0`` of the end points into one
merged task vector and returns the end point ``theta_0 + tau``, whose coefficient is then swept on
held-out data like PAINT's alpha (``Mix.of(lam)`` with ``ends=[merged]``):

* ``task_arithmetic`` (Ilharco et al., ICLR 2023): ``tau = sum_i tau_i``.
* ``ties`` (Yadav et al., NeurIPS 2023): each task vector is *trimmed* to its ``density`` fraction
  of largest magnitudes (over the whole vector, all tensors together), a sign is *elected* per entry
  (the sign of the sum of the trimmed vectors; an entry whose sum is exactly zero takes the sign
  that wins over all entries), and the entries that agree with it are averaged (*disjoint mean*).
* ``iso_c`` (Marczak et al., "No Task Left Behind: Isotropic Model Merging with Common and
  Task-Specific Subspaces", ICML 2025): for each matrix (2-D tensor) the summed task vector
  ``U S V^T`` is replaced by ``mean(S) U V^T``, flattening its spectrum so that no task's
  directions dominate; other tensors take the mean of the task vectors.
* ``tsv`` (Gargiulo et al., "Task Singular Vectors: Reducing Task Interference in Model Merging",
  CVPR 2025; TSV-Merge): for each matrix, each task keeps its top ``1/T`` share of singular
  components; the concatenated singular vectors are decorrelated (replaced by their orthogonal polar
  factors) and the matrix is rebuilt with the kept singular values; other tensors take the mean.

Non-floating-point tensors take the start point's value (the engine's rule for a coefficient
that is not positive). The functions are pure: inputs are never modified.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from paint_lightning.interpolation.combine import Endpoints

TaskVector = dict[str, Tensor]


def task_vectors(start: Mapping[str, Tensor], ends: Sequence[Mapping[str, Tensor]]) -> list[TaskVector]:
    """``end - start`` (float32) of every floating-point tensor, one mapping per end point.

    Raises:
        ValueError: If names, shapes or floating-point-ness of the end points differ from the start's.
    """
    Endpoints(start, ends)  # checks names, shapes and dtypes kinds, naming the first difference
    names = [name for name, tensor in start.items() if tensor.is_floating_point()]
    return [{name: end[name].float() - start[name].float() for name in names} for end in ends]


def task_arithmetic(vectors: Sequence[Mapping[str, Tensor]]) -> TaskVector:
    """The sum of the task vectors."""
    return {name: torch.stack([v[name] for v in vectors]).sum(dim=0) for name in vectors[0]}


def ties(vectors: Sequence[Mapping[str, Tensor]], density: float = 0.2) -> TaskVector:
    """TIES: trim each task vector to its top ``density`` by magnitude, elect signs, disjoint mean.

    Args:
        vectors: Task vectors (same names and shapes).
        density: Share of each task vector's entries kept (the largest magnitudes over all its
            tensors together; entries tied with the smallest kept magnitude are kept too).

    Raises:
        ValueError: If ``density`` is not in ``(0, 1]``.
    """
    if not 0.0 < density <= 1.0:
        raise ValueError(f"ties: density={density}; give the share of entries kept, in (0, 1], e.g. 0.2")
    names = list(vectors[0])
    flat = torch.stack([torch.cat([v[name].flatten() for name in names]) for v in vectors])
    trimmed = torch.stack([_trim(row, density) for row in flat])
    elected = torch.sign(trimmed.sum(dim=0))
    majority = torch.sign(elected.sum())
    elected[elected == 0] = majority if majority != 0 else 1.0
    agree = torch.where(elected > 0, trimmed > 0, trimmed < 0)
    kept = trimmed * agree
    merged = kept.sum(dim=0) / agree.sum(dim=0).clamp(min=1)
    out: TaskVector = {}
    offset = 0
    for name in names:
        shape = vectors[0][name].shape
        size = vectors[0][name].numel()
        out[name] = merged[offset : offset + size].view(shape).clone()
        offset += size
    return out


def iso_c(vectors: Sequence[Mapping[str, Tensor]]) -> TaskVector:
    """Iso-C: the summed task vector of every matrix with its singular values set to their mean."""

    def flatten(stacked: Tensor) -> Tensor:
        u, s, vh = torch.linalg.svd(stacked.sum(dim=0), full_matrices=False)
        return s.mean() * (u @ vh)

    return _per_matrix(vectors, flatten)


def tsv(vectors: Sequence[Mapping[str, Tensor]]) -> TaskVector:
    """TSV-Merge: each task's top ``1/T`` singular components, decorrelated, summed."""

    def decorrelate(stacked: Tensor) -> Tensor:
        keep = max(1, min(stacked.shape[1:]) // len(vectors))
        us, ss, vhs = [], [], []
        for matrix in stacked:
            u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
            us.append(u[:, :keep])
            ss.append(s[:keep])
            vhs.append(vh[:keep])
        u_cat, s_cat, vh_cat = torch.cat(us, dim=1), torch.cat(ss), torch.cat(vhs, dim=0)
        return _polar(u_cat) @ torch.diag(s_cat) @ _polar(vh_cat.T).T

    return _per_matrix(vectors, decorrelate)


MERGES: dict[str, Callable[..., TaskVector]] = {
    "task_arithmetic": task_arithmetic,
    "ties": ties,
    "iso_c": iso_c,
    "tsv": tsv,
}
"""Merge methods by name: task vectors (and options) -> merged task vector."""


def merge_end_point(
    method: str, start: Mapping[str, Tensor], ends: Sequence[Mapping[str, Tensor]], **options: Any
) -> dict[str, Tensor]:
    """The end point ``start + merge(task vectors)``: sweep its coefficient like PAINT's alpha.

    Args:
        method: One of :data:`MERGES` (``task_arithmetic``, ``ties``, ``iso_c``, ``tsv``).
        start: Name -> tensor of the start point (zero-shot).
        ends: The fine-tuned end points, same names and shapes.
        **options: The method's options (``ties``: ``density``).

    Returns:
        Name -> tensor, in ``start``'s names and dtypes; non-floating-point tensors are ``start``'s.

    Raises:
        ValueError: For an unknown method or option, no end points, or mismatched end points.
    """
    if method not in MERGES:
        raise ValueError(f"merge method {method!r} is unknown; use one of {', '.join(MERGES)}.")
    if not ends:
        raise ValueError(f"merge {method!r}: needs at least one fine-tuned end point")
    function = MERGES[method]
    allowed = [name for name in function.__code__.co_varnames[1 : function.__code__.co_argcount]]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"merge {method!r} has no options {unknown}; its options are {allowed or 'none'}.")
    merged = function(task_vectors(start, ends), **options)
    out: dict[str, Tensor] = {}
    for name, tensor in start.items():
        if name in merged:
            out[name] = (tensor.float() + merged[name].to(tensor.device)).to(tensor.dtype)
        else:
            out[name] = tensor.detach().clone()
    return out


def _per_matrix(vectors: Sequence[Mapping[str, Tensor]], merge: Callable[[Tensor], Tensor]) -> TaskVector:
    """``merge`` of each matrix's stacked task vectors (tasks x rows x columns); other tensors averaged."""
    out: TaskVector = {}
    for name in vectors[0]:
        stacked = torch.stack([v[name] for v in vectors])
        out[name] = merge(stacked) if stacked.dim() == 3 else stacked.mean(dim=0)
    return out


def _trim(row: Tensor, density: float) -> Tensor:
    keep = math.ceil(density * row.numel())
    if keep >= row.numel():
        return row.clone()
    magnitude = row.abs()
    threshold = magnitude.kthvalue(row.numel() - keep + 1).values  # the keep-th largest
    return torch.where(magnitude >= threshold, row, torch.zeros_like(row))


def _polar(matrix: Tensor) -> Tensor:
    """The orthogonal polar factor ``P Q^T`` of ``matrix = P S Q^T``."""
    p, _, qh = torch.linalg.svd(matrix, full_matrices=False)
    return p @ qh
