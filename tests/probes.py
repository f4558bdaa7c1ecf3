"""Callbacks that tests attach to runs in subprocesses (``--trainer.callbacks+=tests.probes...``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch.nn.modules.batchnorm import _NormBase


class BatchNormDigest(Callback):
    """Writes, per process, a SHA-256 of the image tower's BatchNorm statistics at the end of training.

    Args:
        directory: Where ``rank<N>.json`` files go.
    """

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        digest = hashlib.sha256()
        count = 0
        for module in pl_module.clip.visual.modules():
            if isinstance(module, _NormBase) and module.running_mean is not None:
                for buffer in (module.running_mean, module.running_var):
                    digest.update(buffer.detach().cpu().to(torch.float64).numpy().tobytes())
                    count += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"rank{trainer.global_rank}.json"
        path.write_text(json.dumps({"sha256": digest.hexdigest(), "buffers": count}))
