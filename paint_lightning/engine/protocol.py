"""What the engine needs from a model: the :class:`Patchable` protocol.

:class:`~paint_lightning.PaintModule` implements it; so can a user's own LightningModule, which
then works with :class:`~paint_lightning.InterpolationSweep`, ``paint sweep`` and export:

* ``task_specs``: the tasks it has heads for (name, role, class names, templates), in order;
* ``patch_towers()``: the tower being patched (live weights) and its start point, two modules of
  the same structure whose parameters and persistent buffers are combined by name;
* ``model(images, task)``: logits of ``images`` under ``task``'s head (its ``forward``);
* ``export_open_clip(state)``: the open_clip checkpoint to write, given the module's own full
  state dict (gathered from every process first when the model is sharded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from torch import Tensor, nn

from paint_lightning.interpolation.combine import tower_tensors

if TYPE_CHECKING:
    from paint_lightning.data.tasks import TaskSpec


class OpenCLIPExport(NamedTuple):
    """An open_clip model as files describe it: weights, model config, preprocessing config."""

    state_dict: dict[str, Tensor]
    model_cfg: dict[str, Any]
    preprocess_cfg: dict[str, Any]


@runtime_checkable
class Patchable(Protocol):
    """A model the interpolation engine can sweep and export (see the module docstring)."""

    task_specs: Sequence[TaskSpec]
    training: bool

    def patch_towers(self) -> tuple[nn.Module, nn.Module]:
        """``(live tower, start tower)``: same structure, combined tensor by tensor."""
        ...

    def __call__(self, images: Tensor, task: str) -> Tensor:
        """Logits of ``images`` under ``task``'s head."""
        ...

    def train(self, mode: bool = True) -> Any:
        """``nn.Module.train``."""
        ...

    def eval(self) -> Any:
        """``nn.Module.eval``."""
        ...

    def export_open_clip(self, state: Mapping[str, Tensor]) -> OpenCLIPExport:
        """The open_clip checkpoint for the module's full state dict ``state``."""
        ...


def patch_tensors(model: Patchable) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """``(live, start)`` name -> tensor of the towers (this process's shard when sharded)."""
    live, start = model.patch_towers()
    return local_tensors(live), local_tensors(start)


def local_tensors(module: nn.Module) -> dict[str, Tensor]:
    """Name -> tensor of a tower, sharded (DTensor) tensors replaced by their local shards.

    Combination is elementwise, so it runs shard by shard on sharded (FSDP2) towers.
    """
    return {name: _local(tensor) for name, tensor in tower_tensors(module).items()}


def _local(tensor: Tensor) -> Tensor:
    to_local = getattr(tensor, "to_local", None)
    return to_local() if callable(to_local) else tensor


def reshard(model: Patchable) -> None:
    """Drops gathered copies of sharded (FSDP2) tower parameters.

    A sharded tower may keep its parameters gathered after a forward pass; values just written
    into the local shards would then not be seen by the next one. No-op for unsharded towers.
    """
    try:
        from torch.distributed.fsdp import FSDPModule
    except ImportError:  # torch without FSDP2: nothing can be sharded
        return
    for tower in model.patch_towers():
        for module in tower.modules():
            if isinstance(module, FSDPModule):
                module.reshard()
