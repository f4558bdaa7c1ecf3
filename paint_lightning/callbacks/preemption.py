"""A resumable checkpoint when the scheduler sends SIGTERM."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException
from typing_extensions import override


class PreemptionCheckpoint(Callback):
    """Saves ``preempted.ckpt`` when training stops on SIGTERM.

    Lightning turns SIGTERM into an exception after the current batch (on every process); this
    callback then saves a full checkpoint (weights, zero-shot snapshot, optimizer, loops, data
    position, sweep history) so ``paint fit ... --ckpt_path <dir>/preempted.ckpt`` continues the
    run exactly. Other exceptions save nothing: the last good checkpoint stays the latest.

    Args:
        filename: Name of the checkpoint file, written into the ModelCheckpoint directory (or
            ``<log_dir>/checkpoints``).
    """

    def __init__(self, filename: str = "preempted.ckpt") -> None:
        super().__init__()
        self.filename = filename

    @override
    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
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
