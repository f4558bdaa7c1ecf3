"""The start point of patching: a frozen copy of the image tower that keeps its precision."""

from __future__ import annotations

import copy
from collections.abc import Callable

from torch import Tensor, nn


class StartPoint(nn.Module):
    """A frozen snapshot of a tower, never run, kept in the dtype it was taken in.

    The snapshot is PAINT's theta_0 (alpha = 0). Precision plugins cast whole modules
    (``bf16-true`` calls ``module.to(torch.bfloat16)``); a cast snapshot would no longer be the
    zero-shot model, so this module keeps the floating-point dtype of its tensors through any
    ``to``/``half``/``bfloat16`` while still moving between devices. Its state-dict keys are the
    tower's, under ``tower.``.

    Args:
        tower: The module to snapshot (deep-copied, frozen).
    """

    def __init__(self, tower: nn.Module) -> None:
        super().__init__()
        # Never run, so its train/eval mode is irrelevant; it follows the module's like any child.
        self.tower = copy.deepcopy(tower).requires_grad_(False)

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> StartPoint:  # type: ignore[override]
        def keep_dtype(tensor: Tensor) -> Tensor:
            out = fn(tensor)
            if tensor.is_floating_point() and out.is_floating_point() and out.dtype != tensor.dtype:
                out = tensor.to(out.device)  # move like fn did, without the cast
            return out

        return super()._apply(keep_dtype, recurse)

    def forward(self, *args: object, **kwargs: object) -> None:
        """Not meant to run: interpolation reads its tensors."""
        raise RuntimeError("StartPoint is a weight snapshot; run the live tower instead")
