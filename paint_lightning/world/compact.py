"""A callback that writes the pretrained world CLIP as a compact checkpoint at the end of fit."""

from __future__ import annotations

import json
from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.utilities import rank_zero_info
from typing_extensions import override

from paint_lightning.io.clip_weights import save_compact_clip
from paint_lightning.world.tokens import token_ids, world_prompts


class ExportCompactCLIP(pl.Callback):
    """Saves the module's ``model`` (an ``open_clip.CLIP``) in the compact form at fit end.

    Kept token rows: every token of the training captions (from the datamodule's
    ``token_ids()``) and of every world task's prompts, with SOT and EOT. The file is written
    atomically, so a crash never leaves a half-written checkpoint at ``path``.

    Args:
        path: Destination ``.safetensors`` file (``~`` is expanded; missing folders are made).
    """

    def __init__(self, path: str = "world_clip.safetensors") -> None:
        self.path = str(Path(path).expanduser())

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        if trainer.interrupted:
            rank_zero_info(f"Training was interrupted: not writing {self.path}.")
            return
        datamodule = trainer.datamodule
        context_length = int(pl_module.model.context_length)
        keep = token_ids(world_prompts(), context_length)
        if datamodule is not None and hasattr(datamodule, "token_ids"):
            keep |= datamodule.token_ids()
        metadata = {
            "producer": "paint_lightning.commands.pretrain",
            "global_step": str(trainer.global_step),
            "module_hparams": json.dumps(dict(pl_module.hparams), default=str, sort_keys=True),
        }
        if datamodule is not None:
            metadata["data_hparams"] = json.dumps(dict(datamodule.hparams), default=str, sort_keys=True)
        save_compact_clip(pl_module.model.state_dict(), self.path, dict(pl_module.hparams.model_cfg), keep, metadata)
        size_mb = Path(self.path).stat().st_size / 2**20
        rank_zero_info(f"Wrote the world CLIP to {self.path} ({size_mb:.1f} MiB, {len(keep)} token rows).")
