"""LiNeS for merging: the summed task vector scaled linearly with depth, one global strength swept.

Wang, Dimitriadis, Favero, Ortiz-Jimenez, Fleuret and Frossard, "LiNeS: Post-training layer
scaling prevents forgetting and enhances model merging", ICLR 2025 (arXiv:2410.17146). LiNeS
scales the task vector of residual block ``l`` of ``L`` (1-based) by
``lambda(l) = alpha + beta (l - 1) / (L - 1)``: shallow blocks, which hold general features, move
little; deep blocks take more of the fine-tuning. In the paper's multi-task merging with task
arithmetic (its main variant, used here: the merged vector is ``sum_i tau_i``) the authors' code
fixes ``alpha = 1 / T`` for ``T`` tasks (their ``alpha`` is ``1/T`` times the ratio of the norms of
the summed and the merged vectors, which is 1 for the sum) and tunes ``beta`` on validation data;
tensors outside the residual blocks (patch embedding, class and position embeddings, the final
norm and projection) take ``alpha``.

Here every merge is one end point whose coefficient is swept from 0 (the zero-shot model, the
reference of the support limit) upwards, so a family that never reaches the zero-shot model (the
paper's ``alpha = 1/T`` with ``beta >= 0``) cannot be searched that way. The depth profile is
fixed instead, and one global strength ``s`` is swept: the merged task vector is

    ``tau = lambda(l) * sum_i tau_i``, ``lambda(l) = 1/T + (1 - 1/T) (l - 1) / (L - 1)``

and the model at coefficient ``s`` is ``theta_0 + s tau``. The profile is the paper's ``alpha =
1/T`` with ``beta = 1 - 1/T``: the shallowest block takes the *mean* of the task vectors, the
deepest their *sum* (task arithmetic at 1), and ``s`` scales both, so the ratio of the shallowest
to the deepest block's scale is the paper's ``1/T``-anchored one at every strength. This is
LiNeS's single-task rule (``alpha = lambda``, ``beta = 1 - lambda``) at ``lambda = 1/T``.
Coefficient 1 is inside the paper's multi-task family (``beta = 1 - 1/T`` lies in its grid,
``beta`` in ``(0, 1]``); the range searched, ``s`` in ``[0, 2]``, holds every block scale the paper's
grid reaches (at most ``1/T + 1 <= 2``).

Depth: tensors are grouped by :func:`~paint_lightning.interpolation.mix.parameter_group` (``embed``,
``block.<i>``, ``stage.<i>``, ``head``) and the blocks or stages are ordered by
:func:`~paint_lightning.interpolation.mix.group_order`; ``embed`` and ``head`` take ``alpha``, the
scale of the first block, as in the authors' code. A tower with one block gives it ``alpha`` too
(``(l - 1) / (L - 1)`` read as 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from torch import Tensor

from paint_lightning.interpolation.merge_options import NoOptions
from paint_lightning.interpolation.mix import group_order, parameter_group
from paint_lightning.interpolation.task_vectors import TaskVectors

_OUTSIDE = ("embed", "head")


def lines(vectors: TaskVectors, options: NoOptions | None = None) -> Iterator[tuple[str, Tensor]]:
    """LiNeS over task arithmetic: ``sum_i tau_i`` scaled by ``1/T + (1 - 1/T) (l - 1)/(L - 1)`` in block ``l``."""
    scales = depth_scales(vectors.names, len(vectors))
    for name in vectors.names:
        yield name, vectors.stacked(name).sum(dim=0) * scales[name]


def depth_scales(names: Iterable[str], tasks: int) -> dict[str, float]:
    """Name -> LiNeS scale ``alpha + beta (l - 1)/(L - 1)``, ``alpha = 1/T``, ``beta = 1 - 1/T``.

    Args:
        names: Image-tower tensor names (their group gives the block, see the module docstring).
        tasks: ``T``, the number of task vectors merged (at least 1).

    Raises:
        ValueError: For ``tasks < 1``.
    """
    if tasks < 1:
        raise ValueError(f"LiNeS needs at least one task vector, got {tasks}")
    names = list(names)
    groups = {name: parameter_group(name) for name in names}
    blocks = [group for group in group_order(groups.values()) if group not in _OUTSIDE]
    alpha = 1.0 / tasks
    beta = 1.0 - alpha
    last = len(blocks) - 1
    depth = {group: (k / last if last > 0 else 0.0) for k, group in enumerate(blocks)}
    return {name: alpha + beta * depth.get(groups[name], 0.0) for name in names}
