"""Callbacks that tests attach to multi-process runs: what each process copies, a process killed."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer


class KillRank(Callback):
    """SIGKILLs the process of global rank ``rank`` at a chosen point of ``fit``.

    Args:
        rank: The process to kill.
        epoch: The epoch in which it dies.
        when: ``training`` (at the start of the epoch's first training batch) or ``sweep`` (inside
            that epoch's sweep, as the first chunk of mixes is counted).
        stamp: A file to write the time of the kill into (``time.time()``).
    """

    def __init__(self, rank: int = 1, epoch: int = 0, when: str = "training", stamp: str | None = None) -> None:
        self.rank = rank
        self.epoch = epoch
        self.when = when
        self.stamp = stamp

    def die(self) -> None:
        """Writes the time, then SIGKILLs this process."""
        if self.stamp is not None:
            Path(self.stamp).write_text(repr(time.time()))
        os.kill(os.getpid(), signal.SIGKILL)

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self.when != "sweep" or trainer.global_rank != self.rank:
            return
        from paint_lightning.engine.sweeper import Sweeper

        count, probe = Sweeper.count, self

        def dying_count(sweeper: Sweeper, *args: object, **kwargs: object) -> object:
            if trainer.current_epoch == probe.epoch:
                probe.die()
            return count(sweeper, *args, **kwargs)

        Sweeper.count = dying_count  # type: ignore[method-assign]

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: object, index: int) -> None:
        if self.when == "training" and trainer.global_rank == self.rank and trainer.current_epoch == self.epoch:
            self.die()


class ExportCopies(Callback):
    """Writes ``rank<N>.json`` per process: the bytes of CPU tensors ``SweepRuntime.full_state`` returned.

    Args:
        directory: Where the files go.
    """

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.calls: list[int] = []

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        from paint_lightning.callbacks.runtime import SweepRuntime

        full_state, probe = SweepRuntime.full_state, self

        def recorded(runtime: SweepRuntime, *args: object, **kwargs: object) -> object:
            state = full_state(runtime, *args, **kwargs)
            cpu = [t for t in state.values() if t.device.type == "cpu"]
            probe.calls.append(sum(t.numel() * t.element_size() for t in cpu))
            return state

        SweepRuntime.full_state = recorded  # type: ignore[method-assign]

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        state = pl_module.state_dict()
        state_bytes = sum(t.numel() * t.element_size() for t in state.values())
        exported = sum(t.numel() * t.element_size() for k, t in state.items() if pl_module.exported_key(k))
        record = {"calls": self.calls, "state_bytes": state_bytes, "exported_bytes": exported}
        (self.directory / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))
