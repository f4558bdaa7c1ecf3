"""Callbacks that tests attach to runs in subprocesses (``--trainer.callbacks+=tests.probes...``)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch
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


# Runs this module has seen in this process: a second run in the same process would find the first here.
RUNS_SEEN: list[str] = []


class ProcessState(Callback):
    """Writes ``process.json`` in the run's ``default_root_dir``: what the run finds in its process.

    At the start of fit: the process id, torch's default dtype, the runs this module saw before in
    the process, and whether a probe's logging handler is on the root logger. At the end of fit it
    changes all three (float64 default dtype, itself in ``RUNS_SEEN``, a handler added), as a
    careless run might: a later run in the same process would see them.
    """

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        state = {
            "pid": os.getpid(),
            "default_dtype": str(torch.get_default_dtype()),
            "runs_seen": list(RUNS_SEEN),
            "probe_handler": any(isinstance(h, _ProbeHandler) for h in logging.getLogger().handlers),
        }
        Path(trainer.default_root_dir, "process.json").write_text(json.dumps(state))

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage == "fit":
            RUNS_SEEN.append(str(trainer.default_root_dir))
            torch.set_default_dtype(torch.float64)
            logging.getLogger().addHandler(_ProbeHandler())


class _ProbeHandler(logging.NullHandler):
    """The logging handler :class:`ProcessState` leaves behind."""
