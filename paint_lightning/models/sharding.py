"""Sharding the image tower and its start point alike (FSDP2), so interpolation stays local.

Under Lightning's ``ModelParallelStrategy`` a LightningModule shards itself in
``configure_model`` with ``torch.distributed.fsdp.fully_shard``. The live tower and the start
point are sharded block by block with the same structure, so each process holds the same slice
of both and the elementwise interpolation runs on local shards without any gather.
"""

from __future__ import annotations

from typing import Any

from torch import nn

_BLOCK_LISTS = ("resblocks", "blocks", "stages")


def shard_towers(module: Any, mesh: Any) -> None:
    """Shards ``module.clip.visual`` and ``module.start_point.tower``, block by block.

    The frozen rest (text tower, heads, logit scale) stays replicated: it takes no gradients, so it
    needs no synchronisation.

    Args:
        module: A :class:`~paint_lightning.PaintModule` after its start point exists.
        mesh: The strategy's device mesh; its ``data_parallel`` dimension (if named) is used.
    """
    from torch.distributed.fsdp import fully_shard

    names = getattr(mesh, "mesh_dim_names", None) or ()
    data_parallel = mesh["data_parallel"] if "data_parallel" in names else mesh
    for tower in (module.clip.visual, module.start_point.tower):
        for block in tower_blocks(tower):
            fully_shard(block, mesh=data_parallel)
        fully_shard(tower, mesh=data_parallel)


def tower_blocks(tower: nn.Module) -> list[nn.Module]:
    """The repeated blocks of a tower (transformer blocks, ResNet/ConvNeXt stages), in order."""
    for name, child in tower.named_modules():
        if name.rsplit(".", 1)[-1] in _BLOCK_LISTS and isinstance(child, (nn.ModuleList, nn.Sequential)):
            return list(child)
    stages = [getattr(tower, f"layer{i}") for i in range(1, 5) if hasattr(tower, f"layer{i}")]
    return stages
