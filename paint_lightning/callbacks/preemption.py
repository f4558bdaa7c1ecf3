"""A resumable checkpoint when the scheduler sends SIGTERM; the one to resume from when a process dies."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException
from typing_extensions import override

from paint_lightning.callbacks.lost_process import lost_process_message, patient_launcher


class PreemptionCheckpoint(Callback):
    """Saves ``preempted.ckpt`` when training stops on SIGTERM.

    Lightning turns SIGTERM into an exception after the current batch (on every process); this
    callback then saves a full checkpoint (weights, zero-shot snapshot, optimizer, loops, data
    position, sweep history) so ``paint fit ... --ckpt_path <dir>/preempted.ckpt`` continues the
    run exactly. Other exceptions save nothing: the last good checkpoint stays the latest.

    When another process of a multi-process run stops (killed, out of memory, its node lost), the
    survivors' collectives fail; the exception then carries one line (``paint_message``, printed by
    the ``paint`` command) naming the failure, where it happened and the checkpoint to resume from
    (:mod:`~paint_lightning.callbacks.lost_process`).

    Args:
        filename: Name of the checkpoint file, written into the ModelCheckpoint directory (or
            ``<log_dir>/checkpoints``).
        grace_s: Seconds Lightning's launcher waits, after a process it started has died, before
            it kills the first process (which meanwhile reports the failure and exits by itself).
    """

    def __init__(self, filename: str = "preempted.ckpt", grace_s: float = 60.0) -> None:
        super().__init__()
        self.filename = filename
        self.grace_s = grace_s

    @override
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if trainer.world_size > 1 and trainer.global_rank == 0:
            patient_launcher(trainer, self.grace_s)

    @override
    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if (message := lost_process_message(trainer, exception)) is not None:
            exception.__dict__["paint_message"] = message
            return
        if not isinstance(exception, SIGTERMException) or trainer.state.fn != TrainerFn.FITTING:
            return
        path = self.path(trainer)
        trainer.save_checkpoint(path)
        rank_zero_info(f"SIGTERM: saved a resumable checkpoint to {path}; resume with --ckpt_path {path}")

    def path(self, trainer: Trainer) -> Path:
        """Where the checkpoint goes."""
        callback = trainer.checkpoint_callback
        directory = getattr(callback, "dirpath", None) if callback is not None else None
        if directory is None:
            directory = Path(trainer.log_dir or trainer.default_root_dir) / "checkpoints"  # all ranks get here
        return Path(directory) / self.filename
