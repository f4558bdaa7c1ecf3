"""Counting the live weights' predictions in Lightning's validation and test loops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from paint_lightning.data.cache import ByteBatch
from paint_lightning.data.samplers import counted
from paint_lightning.engine.counts import Counts, TaskCounts
from paint_lightning.engine.sweeper import add_counts
from paint_lightning.interpolation.mix import FINE_TUNED


class EvalTally:
    """LightningModule hooks that count correct predictions per task in validation and test loops.

    Integer counts (and summed cross-entropy) are kept per task in :attr:`eval_tally`, summed once
    over all processes at the end of the loop and logged as ``val/<task>/acc`` (fraction) and
    ``val/<task>/loss`` (``test/...`` in tests). No metric is synchronised per step, so a process
    whose shard of a small set is empty cannot leave the others waiting.
    :class:`~paint_lightning.InterpolationSweep` reads these counts as the alpha = 1 column of
    ``paint validate`` and ``paint test`` instead of measuring the live weights again.
    """

    eval_tally: Counts | None = None
    last_eval: TaskCounts | None = None  # the live weights' counts of the latest loop, summed

    def on_validation_epoch_start(self: Any) -> None:
        """Starts counting the live weights' held-out predictions."""
        self.eval_tally = Counts.zeros([s.name for s in self.task_specs], [FINE_TUNED], self.device)

    def validation_step(self: Any, batch: Sequence[Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        """Counts correct predictions of the live weights on one held-out batch."""
        self._tally(batch, dataloader_idx)

    def on_validation_epoch_end(self: Any) -> None:
        """Sums the counts over processes and logs ``val/<task>/acc`` and ``val/<task>/loss``."""
        self._log_tally("val")

    def on_test_epoch_start(self: Any) -> None:
        """Starts counting the live weights' test predictions."""
        self.on_validation_epoch_start()

    def test_step(self: Any, batch: Sequence[Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        """Counts correct predictions of the live weights on one test batch."""
        self._tally(batch, dataloader_idx)

    def on_test_epoch_end(self: Any) -> None:
        """Sums the counts over processes and logs ``test/<task>/acc`` and ``test/<task>/loss``."""
        self._log_tally("test")

    def _tally(self: Any, batch: Sequence[Tensor], dataloader_idx: int) -> None:
        assert self.eval_tally is not None
        if isinstance(batch, ByteBatch):
            raise TypeError(
                "an evaluation batch reached the model still uint8 (ByteBatch): the DataModule must finish it on "
                "the device; inherit paint_lightning.data.cache.FinishesOnDevice (PaintDataModule does) and call "
                "super().on_after_batch_transfer() if you override it."
            )
        images, labels = batch[0], torch.as_tensor(batch[1], device=self.device)
        self.eval_tally.total[dataloader_idx] += counted(labels).sum()
        add_counts(self.eval_tally, dataloader_idx, 0, self(images, self.task_specs[dataloader_idx].name), labels)

    def _log_tally(self: Any, split: str) -> None:
        # Summed once over all processes (every process gets here), then logged as the same value
        # on every process.
        assert self.eval_tally is not None
        counts = self.eval_tally.reduced(lambda t: self.trainer.strategy.reduce(t, reduce_op="sum"))
        self.last_eval = counts.column(FINE_TUNED)
        for task in counts.tasks:
            if self.last_eval.total[task]:
                self.log(f"{split}/{task}/acc", self.last_eval.accuracy(task) / 100.0, sync_dist=False)
                self.log(f"{split}/{task}/loss", self.last_eval.mean_loss(task), sync_dist=False)
