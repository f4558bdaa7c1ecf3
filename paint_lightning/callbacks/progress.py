"""The console during training: one bar per epoch with the loss and the running alpha*, nothing else.

Lightning's default bar shows every logged value (``v_num``, step and epoch accuracies under their
full metric names) and a bar per validation or test loader. :class:`PaintProgressBar` keeps one
training bar per epoch (left on screen when the epoch ends) showing ``loss``, the training
accuracy ``acc`` and ``alpha*`` (the latest sweep's choice, logged by the sweep); evaluation loops
show no bar: the sweep prints one line per sweep and the final table. When the output is not a
terminal (a log file, a batch job), bars are replaced by one plain line per epoch.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm
from lightning.pytorch.utilities import rank_zero_info
from typing_extensions import override

# Logged name -> what the bar calls it, in display order.
SHOWN = {"train/loss": "loss", "train/acc_step": "acc", "paint/alpha_star": "alpha*"}


class PaintProgressBar(TQDMProgressBar):
    """One bar per epoch with ``loss``, ``acc`` and ``alpha*``; no bars for evaluation loops.

    Args:
        refresh_rate: Update the bar every this many batches.
        plain: One text line per epoch instead of bars (``None``: when the output is not a terminal).
    """

    def __init__(self, refresh_rate: int = 1, plain: bool | None = None) -> None:
        super().__init__(refresh_rate=refresh_rate, leave=True)
        self.plain = (not sys.stdout.isatty()) if plain is None else plain
        self._epoch_start = 0.0

    @override
    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, int | str | float | dict]:
        return display_metrics(trainer.progress_bar_metrics)

    @override
    def init_train_tqdm(self) -> Tqdm:
        if self.plain:
            return Tqdm(disable=True)
        return super().init_train_tqdm()

    @override
    def init_sanity_tqdm(self) -> Tqdm:
        return Tqdm(disable=True)

    @override
    def init_validation_tqdm(self) -> Tqdm:
        return Tqdm(disable=True)

    @override
    def init_test_tqdm(self) -> Tqdm:
        return Tqdm(disable=True)

    @override
    def init_predict_tqdm(self) -> Tqdm:
        return Tqdm(disable=True)

    @override
    def on_train_epoch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        super().on_train_epoch_start(trainer, *args)
        self._epoch_start = time.monotonic()

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self.plain:
            rank_zero_info(
                epoch_line(trainer, self.get_metrics(trainer, pl_module), time.monotonic() - self._epoch_start)
            )


def display_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The progress-bar metrics under short names: ``loss``, ``acc``, ``alpha*``."""
    shown: dict[str, Any] = {}
    for key, name in SHOWN.items():
        value = metrics.get(key)
        if value is None and key == "train/acc_step":
            value = metrics.get("train/acc_epoch")
        if value is not None:
            shown[name] = round(float(value), 4) if name != "alpha*" else f"{float(value):g}"
    return shown


def epoch_line(trainer: pl.Trainer, metrics: dict[str, Any], seconds: float) -> str:
    """``Epoch 3/15: loss 0.1234, acc 0.95, alpha* 0.4 (12 s)``."""
    total = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
    parts = ", ".join(f"{name} {value}" for name, value in metrics.items())
    return f"Epoch {trainer.current_epoch}{total}: {parts or 'done'} ({seconds:.0f} s)"
