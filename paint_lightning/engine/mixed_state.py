"""The full state dict of a model at a mix: what every export writes and what ``paint predict`` uses.

One function, :func:`state_at_mix`, for every path (``paint fit``'s export, ``paint export``,
``paint sweep``, ``paint parallel``, ``paint predict``, :meth:`~paint_lightning.PaintModule.patched_state_dict`).
The tower is written in place by the sweep's own kernel
(:class:`~paint_lightning.interpolation.combine.InPlaceCombiner`), so what is exported is bit for
bit what was evaluated: the start point's and end points' dtypes are handled as the sweep handles
them, and integer tensors (BatchNorm's ``num_batches_tracked``) take one end point's value, never
an interpolated one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import torch
from torch import Tensor, nn

from paint_lightning.engine.protocol import Patchable, patch_tensors, reshard
from paint_lightning.interpolation.combine import Endpoints, InPlaceCombiner, write_mix
from paint_lightning.interpolation.mix import Mix


def state_at_mix(
    model: Patchable,
    mix: Mix,
    ends: Sequence[Mapping[str, Tensor]] | None = None,
    state_dict: Callable[[], Mapping[str, Tensor] | Iterable[tuple[str, Tensor]]] | None = None,
    keep: bool = True,
    wanted: Callable[[str], bool] | None = None,
    copy_unchanged: bool = True,
) -> dict[str, Tensor]:
    """The model's full state dict (CPU copies) with its tower at ``mix``; the model is left as it was.

    With the live tower as the one end point (``ends=None``) and the start point as the other,
    ``Mix.of(a)`` gives ``(1 - a) * zero_shot + a * fine_tuned`` for every floating-point tensor of
    the tower; every other tensor of the model is copied as it is.

    Memory: an unsharded tower's mix is written straight into its host copies (the kernel the
    sweep writes in place with, so the bits are the same), with no backup of the live tower; a
    sharded tower (FSDP2) is written in place shard by shard (a backup of the local shard) and
    gathered tensor by tensor. Keys ``wanted`` rejects are neither copied nor returned.

    Args:
        model: The model (:class:`~paint_lightning.engine.protocol.Patchable` with a ``state_dict``).
        mix: The coefficients, one per end point.
        ends: End points other than the live weights (several fine-tuned towers, a merged or a
            weight-averaged one), named as :func:`~paint_lightning.engine.protocol.patch_tensors` names them.
        state_dict: What reads the full state dict (default ``model.state_dict``): a dict, or
            ``(name, tensor)`` pairs read one at a time, as :func:`gathered_state` gathers a sharded
            model (then every process must call this).
        keep: Whether to copy the state to host memory. A process that writes nothing (not rank 0)
            passes ``False`` and gets an empty dict; it reads a sharded model's state all the same
            (the gather is collective) and an unsharded one's not at all.
        wanted: Which keys to return (default: all), e.g. only what an export writes.
        copy_unchanged: Whether tensors already in host memory and not at the mix (the text
            tower, ...) are copied. An export that writes them to a file at once passes ``False``
            and holds no second copy; the returned tensors are then the model's own for those keys.

    Raises:
        ValueError: When ``mix`` does not fit the end points or the tower's parameter groups.
        RuntimeError: When a host copy fails (out of host memory), raised only after the whole
            state was read, so that the other processes are not left waiting in a gather.
    """
    read = state_dict if state_dict is not None else model.state_dict  # type: ignore[attr-defined]
    live, start = patch_tensors(model)
    if any(callable(getattr(tensor, "to_local", None)) for tensor in model.patch_towers()[0].parameters()):
        with InPlaceCombiner(live, start, ends, after_write=lambda: reshard(model)) as combiner:
            combiner.set(mix)
            return _host_copies(read(), keep, wanted, {}, copy_unchanged)
    if not keep:
        return {}
    endpoints = Endpoints(start, ends or [live])
    endpoints.check(mix)
    mixed: dict[tuple[int, tuple[int, ...], torch.dtype], Tensor] = {}
    if ends is not None or any(c != (1.0,) for c in mix.per_tensor(endpoints.groups)):
        with torch.no_grad():
            targets = [torch.empty_like(live[name], device="cpu") for name in endpoints.names]
            if all(tensor.device.type == "cpu" for tensor in live.values()):
                write_mix(targets, endpoints, mix, stream=False)
            else:
                _write_on_device(targets, endpoints, mix, live)
        mixed = {_identity(live[name]): target for name, target in zip(endpoints.names, targets, strict=True)}
    return _host_copies(read(), keep, wanted, mixed, copy_unchanged)


def _write_on_device(targets: list[Tensor], endpoints: Endpoints, mix: Mix, live: Mapping[str, Tensor]) -> None:
    """The mix computed where the live tower is (the sweep's bits: one device copy, as a backup took), then copied."""
    scratch = [torch.empty_like(live[name]) for name in endpoints.names]
    write_mix(scratch, endpoints, mix)
    for target, tensor in zip(targets, scratch, strict=True):
        target.copy_(tensor)


def _identity(tensor: Tensor) -> tuple[int, tuple[int, ...], torch.dtype]:
    return tensor.data_ptr(), tuple(tensor.shape), tensor.dtype


def _host_copies(
    state: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]],
    keep: bool,
    wanted: Callable[[str], bool] | None,
    mixed: Mapping[tuple[int, tuple[int, ...], torch.dtype], Tensor],
    copy_unchanged: bool = True,
) -> dict[str, Tensor]:
    """Host copies of ``state``'s wanted tensors (``mixed`` ones by identity); reads every pair to the end."""
    copies: dict[str, Tensor] = {}
    failed: Exception | None = None
    for key, value in state.items() if isinstance(state, Mapping) else state:
        if not keep or failed is not None or (wanted is not None and not wanted(key)):
            continue
        try:
            made = mixed.get(_identity(value)) if mixed and isinstance(value, Tensor) else None
            if made is None:
                host = not copy_unchanged and getattr(value, "device", None) == torch.device("cpu")
                made = value.detach() if host else value.detach().to("cpu", copy=True)
            copies[key] = made
        except RuntimeError as err:  # keep reading: the gather of the other processes goes on
            failed, copies = err, {}
    if failed is not None:
        raise RuntimeError(f"copying the model's state to host memory failed: {failed}") from failed
    return copies


def gathered_state(model: nn.Module) -> Iterator[tuple[str, Tensor]]:
    """``model.state_dict()`` tensor by tensor, a sharded (FSDP2, DTensor) tensor gathered whole.

    Collective for a sharded model: every process must read every pair, in this order (the state
    dict's, the same on every process). Only one gathered tensor exists at a time, so the memory
    needed beyond the shards is that of the largest tensor; a caller keeping a host copy of each
    (:func:`state_at_mix`) bounds the device memory by it. Unsharded tensors come as they are.
    """
    for key, value in model.state_dict().items():
        full_tensor = getattr(value, "full_tensor", None)
        yield key, full_tensor() if callable(full_tensor) else value
