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
* ``wudi`` (Cheng et al., ICML 2025; :mod:`~paint_lightning.interpolation.wudi`): for each linear
  layer, the exact minimiser of ``sum_i ||(tau - tau_i) tau_i^T||_F^2 / ||tau_i||_F^2``; other
  tensors take the mean.
* ``lines`` (Wang et al., ICLR 2025; :mod:`~paint_lightning.interpolation.lines_merge`): the sum of
  the task vectors scaled by depth, from ``1/T`` in the first block to 1 in the last.

Non-floating-point tensors take the start point's value (the engine's rule for a coefficient
that is not positive). The functions are pure: inputs are never modified.

Memory: every method works tensor by tensor (:class:`~paint_lightning.interpolation.task_vectors.TaskVectors`):
the task vectors of one tensor name exist at a time, on the compute device, and the end points may
stay on the host. TIES first finds each task vector's magnitude threshold (an exact global
quantile, :func:`~paint_lightning.interpolation.task_vectors.kth_largest_magnitudes`) and the
majority sign, then trims, elects and averages each tensor; its result is bit for bit that of the
whole-model flat computation (the majority sign is counted in integers, where a float32 sum of
signs over more than 2**24 entries could round).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from paint_lightning.interpolation.lines_merge import lines
from paint_lightning.interpolation.merge_options import NoOptions, TiesOptions, WudiOptions, parse_options
from paint_lightning.interpolation.mix import rounded
from paint_lightning.interpolation.task_vectors import TaskVectors, kth_largest_magnitudes
from paint_lightning.interpolation.wudi import wudi

Merged = Iterator[tuple[str, Tensor]]
"""A merged task vector, tensor by tensor: (name, merged tensor on the compute device)."""


def task_arithmetic(vectors: TaskVectors, options: NoOptions | None = None) -> Merged:
    """The sum of the task vectors."""
    for name in vectors.names:
        yield name, vectors.stacked(name).sum(dim=0)


def ties(vectors: TaskVectors, options: TiesOptions | None = None) -> Merged:
    """TIES: trim each task vector to its top ``density`` by magnitude, elect signs, disjoint mean.

    Three passes over the names before the merge itself: two find each task vector's threshold
    (the smallest kept magnitude), one counts the elected signs (the majority sign goes to
    entries whose trimmed sum is exactly zero).
    """
    keep = math.ceil((options or TiesOptions()).density * vectors.numel)
    if keep >= vectors.numel:  # nothing trimmed
        thresholds = torch.zeros(len(vectors), device=vectors.device)
    else:
        thresholds = kth_largest_magnitudes(vectors, keep)
    balance = 0
    for name in vectors.names:
        sums = _trimmed(vectors, name, thresholds).sum(dim=0)
        balance += int((sums > 0).sum()) - int((sums < 0).sum())
    majority = 1.0 if balance >= 0 else -1.0
    for name in vectors.names:
        trimmed = _trimmed(vectors, name, thresholds)
        elected = torch.sign(trimmed.sum(dim=0))
        elected[elected == 0] = majority
        agree = torch.where(elected > 0, trimmed > 0, trimmed < 0)
        kept = trimmed * agree
        yield name, kept.sum(dim=0) / agree.sum(dim=0).clamp(min=1)


def iso_c(vectors: TaskVectors, options: NoOptions | None = None) -> Merged:
    """Iso-C: the summed task vector of every matrix with its singular values set to their mean."""

    def flatten(stacked: Tensor) -> Tensor:
        u, s, vh = torch.linalg.svd(stacked.sum(dim=0), full_matrices=False)
        return s.mean() * (u @ vh)

    return _per_matrix(vectors, flatten)


def tsv(vectors: TaskVectors, options: NoOptions | None = None) -> Merged:
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


class MergeMethod(NamedTuple):
    """A merge method: its tensor-by-tensor function, the dataclass of its options, its coefficient range.

    ``top`` is the largest coefficient of the merged task vector the method's authors tune over
    (``range_source`` says where that comes from); the coefficient is searched on ``[0, top]``, so
    a support limit can still stop it early and the method is never capped below its own range.
    """

    merge: Callable[[TaskVectors, Any], Merged]
    options: type
    top: float = 1.0
    range_source: str = ""


MERGES: dict[str, MergeMethod] = {
    "task_arithmetic": MergeMethod(
        task_arithmetic, NoOptions, 1.0, "Ilharco et al. tune lambda in [0, 1] on validation data"
    ),
    "ties": MergeMethod(
        ties, TiesOptions, 2.5, "the TIES authors' scripts tune lambda from 0.8 to 2.5 in steps of 0.1"
    ),
    "iso_c": MergeMethod(
        iso_c, NoOptions, 3.0, "tuned on validation data in its paper; [0, 3] holds the scales it reports"
    ),
    "tsv": MergeMethod(tsv, NoOptions, 3.0, "tuned on validation data in its paper (1.0 by default); [0, 3] holds it"),
    "wudi": MergeMethod(
        wudi,
        WudiOptions,
        1.0,
        "its paper adds the merged task vector without rescaling (coefficient 1); [0, 1] holds it",
    ),
    "lines": MergeMethod(
        lines,
        NoOptions,
        2.0,
        "its code tunes beta in (0, 1] with alpha = 1/T, so block scales reach 1/T + 1 <= 2; [0, 2] holds them",
    ),
}
"""Merge methods by name (options: :mod:`~paint_lightning.interpolation.merge_options`)."""


def coefficient_grid(method: str, budget: int, step: float = 0.1) -> tuple[float, ...]:
    """The coefficients of ``method``'s merged end point to evaluate: ``0, step, ..., top`` within ``budget``.

    The sweep also measures coefficient 1 (the merged end point itself, a reference), so the grid
    plus 1 holds at most ``budget`` values: when ``0..top`` by ``step`` has more, the step becomes
    the smallest multiple of ``step`` that fits (``top`` is always kept).

    Args:
        method: One of :data:`MERGES`.
        budget: The most coefficients evaluated (at least 3: 0, 1 and ``top``).
        step: The finest step.
    """
    if budget < 3:
        raise ValueError(f"budget={budget}: a merge's sweep needs at least 3 evaluations (0, 1 and its top).")
    top = MERGES[method].top
    k = 1
    while True:
        grid = {rounded(i * k * step) for i in range(int(top / (k * step) + 1e-9) + 1)} | {top}
        if len(grid | {1.0}) <= budget:
            return tuple(sorted(grid))
        k += 1


def merge_end_point(
    method: str,
    start: Mapping[str, Tensor],
    ends: Sequence[Mapping[str, Tensor]],
    device: torch.device | str | None = None,
    out_device: torch.device | str | None = None,
    **options: Any,
) -> dict[str, Tensor]:
    """The end point ``start + merge(task vectors)``: sweep its coefficient like PAINT's alpha.

    Args:
        method: One of :data:`MERGES` (``task_arithmetic``, ``ties``, ``iso_c``, ``tsv``, ``wudi``, ``lines``).
        start: Name -> tensor of the start point (zero-shot).
        ends: The fine-tuned end points, same names and shapes; they may stay on the host, only
            one tensor name of them is moved to ``device`` at a time.
        device: Where the merge is computed (default: where ``start`` is).
        out_device: Where the result is put (default: where each ``start`` tensor is).
        **options: The method's options (``ties``: ``density``; ``wudi``: ``steps``, ``lr``, ``blocks_only``), see
            :mod:`~paint_lightning.interpolation.merge_options`.

    Returns:
        Name -> tensor, in ``start``'s names and dtypes; non-floating-point tensors are ``start``'s.

    Raises:
        ValueError: For an unknown method or option, no end points, or mismatched end points.

    Example:
        >>> merged = merge_end_point("ties", zs, [ft_a, ft_b], density=0.2)  # doctest: +SKIP
        >>> patched = interpolate(zs, merged, 0.6)  # doctest: +SKIP
    """
    parsed = parse_options(method, options, f"merge {method!r} options")
    if not ends:
        raise ValueError(f"merge {method!r}: needs at least one fine-tuned end point")
    vectors = TaskVectors(start, ends, device)
    out: dict[str, Tensor] = {}
    for name, tau in MERGES[method].merge(vectors, parsed):  # one tensor at a time
        tensor = start[name]
        value = (tensor.to(vectors.device).float() + tau).to(tensor.dtype)
        out[name] = value.to(out_device if out_device is not None else tensor.device)
    for name, tensor in start.items():
        if name not in out:
            out[name] = tensor.detach().to(out_device if out_device is not None else tensor.device, copy=True)
    return {name: out[name] for name in start}


def _trimmed(vectors: TaskVectors, name: str, thresholds: Tensor) -> Tensor:
    """The task vectors of ``name`` with entries below their task's threshold set to zero."""
    stacked = vectors.stacked(name)
    limit = thresholds.view(-1, *([1] * (stacked.dim() - 1)))
    return stacked.masked_fill_(stacked.abs() < limit, 0.0)  # +0.0, as the flat version's where()


def _per_matrix(vectors: TaskVectors, merge: Callable[[Tensor], Tensor]) -> Merged:
    """``merge`` of each matrix's stacked task vectors (tasks x rows x columns); other tensors averaged."""
    for name in vectors.names:
        stacked = vectors.stacked(name)
        yield name, merge(stacked) if stacked.dim() == 3 else stacked.mean(dim=0)


def _polar(matrix: Tensor) -> Tensor:
    """The orthogonal polar factor ``P Q^T`` of ``matrix = P S Q^T``."""
    p, _, qh = torch.linalg.svd(matrix, full_matrices=False)
    return p @ qh
