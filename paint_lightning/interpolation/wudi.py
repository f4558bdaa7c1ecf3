"""WUDI-merging, solved exactly: the merged task vector of each linear layer that least disturbs every task's inputs.

Cheng, Xiong, Wei, Zhu and Yuan, "Whoever Started the Interference Should End It: Guiding
Data-Free Model Merging via Task Vectors", ICML 2025 (arXiv:2503.08099). The rows of a linear
layer's task vector ``tau_i`` (``out x in``, ``y = x W^T``) lie close to the span of the inputs the
layer saw while fine-tuning on task ``i``, so ``(tau - tau_i) tau_i^T`` measures how much the merged
task vector ``tau`` disturbs the outputs on task ``i``'s inputs. WUDI-merging minimises

    ``L(tau) = sum_i ||(tau - tau_i) tau_i^T||_F^2 / ||tau_i||_F^2``

for every linear layer, and adds ``tau`` to the start point without rescaling (the paper's
"no rescaling coefficients"; here its coefficient is still swept on held-out data like every
other method's, and 1 is the paper's model).

The paper minimises ``L`` by gradient descent (Adam, from ``sum_i tau_i``). ``L`` is a linear
least-squares problem: with ``M`` the task vectors stacked row-wise, each divided by its norm
(``T out x in``), and ``P`` the blocks ``tau_i tau_i^T / ||tau_i||_F`` stacked the same way
(``T out x out``), ``(tau - tau_i) tau_i^T`` is the ``i``-th block of ``(M tau^T - P)^T``, so
``L(tau) = ||M tau^T - P||_F^2``. :func:`wudi_matrix` solves it through the SVD of ``M`` in
float64 (never forming the normal equations ``tau M^T M = P^T M``, whose condition number is the
square of ``M``'s), with no ridge. When ``M`` has fewer independent rows than columns (e.g. an
MLP's down-projection merged from few tasks) the minimiser is not unique; the pseudo-inverse gives
the one of least norm, which is also the one plain gradient descent from ``sum_i tau_i`` reaches
(every gradient step, and the start, lie in the row space of ``M``). Adam's per-entry step sizes
can add components in ``M``'s null space, which change neither ``L`` nor the outputs on any
task's inputs. A later study (Wei et al., "Closed-Form Spectral Regularization for Multi-Task
Model Merging", arXiv:2606.07289) reports that this exact minimiser does worse than the paper's
few hundred Adam steps, which act as a spectral filter on ``M``'s small singular values. The
exact solution is the default (what the paper's objective defines); ``steps=n`` runs the authors'
solver instead (:func:`wudi_adam`: ``n`` Adam steps at learning rate ``lr``, 1e-5 in their code,
from the sum), which stops short of it.

Which tensors: 2-D tensors are linear-layer weights in ``out x in`` (``nn.Linear``, open_clip's
attention ``in_proj_weight``, ``F.linear(x, W)``), as in the authors' and FusionBench's code,
which apply the objective to every 2-D tensor. Two exceptions: position embeddings (names ending
in ``positional_embedding`` or ``pos_embed``) are added to the tokens, not multiplied, so they are
no linear layer; and open_clip's image projection ``proj`` is applied as ``x @ proj`` (``in x
out``), so it is solved transposed. Every other tensor (biases, norms, embeddings, convolutions)
takes the mean of the task vectors, as FusionBench's code does. The authors' own vision code
(``wudi_main.py``) merges only the four weight matrices of each transformer block and leaves every
other tensor at its pre-trained value: ``blocks_only=True`` does that.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from paint_lightning.interpolation.merge_options import WudiOptions
from paint_lightning.interpolation.task_vectors import TaskVectors

_NOT_LINEAR = ("positional_embedding", "pos_embed")
_RIGHT_MULTIPLIED = "proj"  # open_clip's image projection: x @ proj
_BLOCK_MATRICES = ("attn.in_proj_weight", "attn.out_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def wudi(vectors: TaskVectors, options: WudiOptions | None = None) -> Iterator[tuple[str, Tensor]]:
    """WUDI-merging: the paper's objective minimised per linear layer (exactly by default), the mean elsewhere."""
    options = options or WudiOptions()

    def solve(stacked: Tensor) -> Tensor:
        return wudi_adam(stacked, options.steps, options.lr) if options.steps else wudi_matrix(stacked)

    for name in vectors.names:
        stacked = vectors.stacked(name)
        if options.blocks_only:
            block_matrix = stacked.dim() == 3 and ".resblocks." in name and name.endswith(_BLOCK_MATRICES)
            yield name, solve(stacked) if block_matrix else torch.zeros_like(stacked[0])
        elif stacked.dim() != 3 or name.endswith(_NOT_LINEAR):
            yield name, stacked.mean(dim=0)
        elif name == _RIGHT_MULTIPLIED or name.endswith("." + _RIGHT_MULTIPLIED):
            yield name, solve(stacked.transpose(1, 2)).T
        else:
            yield name, solve(stacked)


def wudi_matrix(stacked: Tensor) -> Tensor:
    """``argmin_tau sum_i ||(tau - tau_i) tau_i^T||_F^2 / ||tau_i||_F^2`` (least norm), same dtype.

    Args:
        stacked: The task vectors of one linear layer, ``tasks x out x in``. A task vector of
            zeros adds nothing to the objective (the paper's weight ``1 / 0`` times zero) and is
            left out.

    Returns:
        The merged task vector (``out x in``); zeros when every task vector is zero.
    """
    taus = stacked.double()
    norms = torch.linalg.matrix_norm(taus)  # Frobenius
    keep = norms > 0
    if not bool(keep.any()):
        return torch.zeros_like(stacked[0])
    taus, norms = taus[keep], norms[keep].view(-1, 1, 1)
    m = (taus / norms).flatten(0, 1)  # (T out) x in
    p = (taus @ taus.transpose(1, 2) / norms).flatten(0, 1)  # (T out) x out
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    cutoff = s.max() * max(m.shape) * torch.finfo(s.dtype).eps  # numerical rank, as pinv's default
    inverse = torch.where(s > cutoff, 1.0 / s, torch.zeros_like(s))
    tau_t = vh.T @ (inverse.unsqueeze(1) * (u.T @ p))  # in x out: M^+ P
    return tau_t.T.to(stacked.dtype)


def wudi_adam(stacked: Tensor, steps: int, lr: float = 1e-5) -> Tensor:
    """The authors' solver: ``steps`` Adam steps on the paper's objective from ``sum_i tau_i``.

    Adam as ``torch.optim.Adam`` with its defaults (betas 0.9 and 0.999, eps 1e-8, no weight decay),
    written out on the objective's exact gradient ``2 sum_i (tau - tau_i) tau_i^T tau_i / ||tau_i||_F^2``
    (no autograd, so it also runs under inference mode). Zero task vectors are left out, as in
    :func:`wudi_matrix`.
    """
    taus = stacked.float()
    norms = taus.flatten(1).square().sum(dim=1)
    taus, norms = taus[norms > 0], norms[norms > 0].view(-1, 1, 1)
    tau = stacked.float().sum(dim=0)
    if not len(taus):
        return tau.to(stacked.dtype)
    grams = taus.transpose(1, 2) @ taus / norms  # tau_i^T tau_i / ||tau_i||^2, in x in
    targets = (taus @ grams).sum(dim=0)
    gram = grams.sum(dim=0)
    first, second = torch.zeros_like(tau), torch.zeros_like(tau)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, steps + 1):
        grad = 2 * (tau @ gram - targets)
        first.mul_(beta1).add_(grad, alpha=1 - beta1)
        second.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denominator = (second / (1 - beta2**step)).sqrt_().add_(eps)
        tau = tau - (lr / (1 - beta1**step)) * first / denominator
    return tau.to(stacked.dtype)
