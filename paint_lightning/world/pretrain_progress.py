"""Plain-text progress lines for long pretraining runs (readable in log files, unlike a bar)."""

from __future__ import annotations

import time
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities import rank_zero_info
from typing_extensions import override


class ProgressLog(pl.Callback):
    """Logs step, loss and the estimated time left every ``every_n_steps`` optimizer steps.

    Args:
        every_n_steps: Steps between lines; 0 disables the callback.
    """

    def __init__(self, every_n_steps: int = 100) -> None:
        self.every_n_steps = every_n_steps
        self._start = 0.0

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.monotonic()

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = trainer.global_step
        if not self.every_n_steps or step % self.every_n_steps:
            return
        elapsed = time.monotonic() - self._start
        total = trainer.max_steps if trainer.max_steps > 0 else trainer.estimated_stepping_batches
        left = elapsed / step * (total - step)
        loss = trainer.callback_metrics.get("train/loss")
        loss_text = f"loss {float(loss):.3f}, " if loss is not None else ""
        rank_zero_info(f"step {step}/{total}: {loss_text}{elapsed / 60:.1f} min so far, ~{left / 60:.1f} min left")
