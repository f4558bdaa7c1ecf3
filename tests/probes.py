"""Callbacks that tests attach to runs in subprocesses (``--trainer.callbacks+=tests.probes...``)."""

from __future__ import annotations

import json
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer
from torch.nn.modules.batchnorm import _NormBase


def _statistics(pl_module: LightningModule) -> dict[str, dict[str, list[float]]]:
    return {
        name: {"mean": module.running_mean.tolist(), "var": module.running_var.tolist()}
        for name, module in pl_module.clip.visual.named_modules()
        if isinstance(module, _NormBase) and module.running_mean is not None
    }


class BatchNormStatistics(Callback):
    """Writes, per process, the image tower's BatchNorm running statistics (``rank<N>.json``).

    ``trained``: after the last training batch (this process's own statistics, before the epoch's
    sweep); ``end``: at the end of ``fit`` (after the last sweep and the export).

    Args:
        directory: Where ``rank<N>.json`` files go.
    """

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.trained: dict[str, dict[str, list[float]]] = {}

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: object) -> None:
        self.trained = _statistics(pl_module)

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"rank{trainer.global_rank}.json"
        path.write_text(json.dumps({"trained": self.trained, "end": _statistics(pl_module)}))
