"""PAINT's formula in one call: ``theta = (1 - alpha) * theta_zs + alpha * theta_ft``.

:func:`interpolate` is the one-liner for the common case, two state dicts and one alpha. It is
``combine(Endpoints(zs, [ft]), Mix.of(alpha))``: the same exact kernel
(:func:`~paint_lightning.interpolation.combine.write_mix`) that the sweep and the export use, so
its result is bit for bit the model the product evaluates and writes at that alpha.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

from paint_lightning.interpolation.combine import Endpoints, combine
from paint_lightning.interpolation.mix import Mix


def interpolate(zs: Mapping[str, Tensor], ft: Mapping[str, Tensor], alpha: float) -> dict[str, Tensor]:
    """PAINT's weight interpolation of two state dicts: ``(1 - alpha) * zs + alpha * ft``.

    Floating-point tensors are computed as ``torch.lerp(zs, ft, alpha)``, which is ``zs`` exactly
    at ``alpha = 0`` and ``ft`` exactly at ``alpha = 1``; tensors whose dtype differs from
    ``zs``'s are computed in float32 and rounded once. Non-floating-point tensors (BatchNorm's
    ``num_batches_tracked``, index buffers) are never interpolated: they are ``ft``'s for
    ``alpha > 0`` and ``zs``'s otherwise. ``alpha`` outside ``[0, 1]`` extrapolates. Like every
    mix, ``alpha`` is rounded to 6 decimal places. The inputs are not modified.

    Args:
        zs: Name -> tensor of the zero-shot model (the start point).
        ft: Name -> tensor of the fine-tuned model, with the same names, shapes and kinds of dtype.
        alpha: The mixing coefficient (PAINT's alpha): 0 is ``zs``, 1 is ``ft``.

    Returns:
        Name -> new tensor, in ``zs``'s order, dtypes and devices.

    Raises:
        ValueError: If the names, shapes or floating-point-ness of ``zs`` and ``ft`` differ
            (naming the first differences), or ``alpha`` is not a finite number.

    Example:
        >>> import torch
        >>> from paint_lightning import interpolate
        >>> zs = {"w": torch.tensor([0.0, 2.0])}
        >>> ft = {"w": torch.tensor([1.0, 4.0])}
        >>> interpolate(zs, ft, 0.25)["w"]
        tensor([0.2500, 2.5000])
    """
    return combine(Endpoints(zs, [ft]), Mix.of(alpha))
