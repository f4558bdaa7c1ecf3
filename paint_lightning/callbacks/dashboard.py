"""What every logger of the trainer gets: the sweep's figures and tables, the final curves and table.

Lightning sends the scalars (alpha*, the accuracies at alpha*, training and validation) to every
logger; this adds, per logger kind, what it can show (:mod:`~paint_lightning.callbacks.tensorboard`,
:mod:`~paint_lightning.callbacks.logger_writers`). A logger of another kind gets the scalars only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger, TensorBoardLogger, WandbLogger
from typing_extensions import override

from paint_lightning.callbacks import logger_writers, tensorboard
from paint_lightning.callbacks.sweep_content import run_params
from paint_lightning.engine.record import run_report

SWEEP_WRITERS: dict[type, Callable[[Any, Mapping[str, Any], bool], None]] = {
    TensorBoardLogger: tensorboard.log_sweep,
    MLFlowLogger: logger_writers.mlflow_sweep,
    WandbLogger: logger_writers.wandb_sweep,
}


def _tensorboard_final(logger: Any, record: Mapping, report: Mapping, params: Mapping, step: int) -> None:
    tensorboard.log_final(logger, record, report, step)  # the settings went in at the start


FINAL_WRITERS: dict[type, Callable[[Any, Mapping, Mapping, Mapping, int], None]] = {
    TensorBoardLogger: _tensorboard_final,
    CSVLogger: logger_writers.csv_final,
    MLFlowLogger: logger_writers.mlflow_final,
    WandbLogger: logger_writers.wandb_final,
}


def _writer(table: Mapping[type, Callable], logger: Logger) -> Callable | None:
    return next((write for kind, write in table.items() if isinstance(logger, kind)), None)


def log_sweep_record(logger: Logger, record: dict[str, Any], figures: bool = True) -> None:
    """A sweep's figures (when ``figures``) and table in ``logger``, as its kind shows them (CSV: nothing)."""
    if (write := _writer(SWEEP_WRITERS, logger)) is not None:
        write(logger, record, figures)


def log_run_end(logger: Logger, record: Mapping, report: Mapping, params: Mapping, step: int) -> None:
    """The final sweep's curves, the final metrics and test table, and the settings, in ``logger``."""
    if (write := _writer(FINAL_WRITERS, logger)) is not None:
        write(logger, record, report, params, step)


class LoggerDashboard(Callback):
    """The run's dashboard in every logger: TensorBoard, CSV, MLflow, Weights & Biases.

    Args:
        layout: Write TensorBoard's Custom Scalars layout at the start of ``fit``.
        hparams: Write the run's settings with its final metrics (TensorBoard's HParams row; the
            params or config of the other loggers), the final sweep's curves and the final table
            at the end of ``fit``.
    """

    def __init__(self, layout: bool = True, hparams: bool = True) -> None:
        super().__init__()
        self.layout = layout
        self.hparams = hparams

    @override
    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        specs: Sequence[Any] = getattr(pl_module, "task_specs", [])
        params = run_params(pl_module, trainer, _sweep(trainer))
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                roles = {s.name: s.role for s in specs}
                tensorboard.start_run(logger, roles, params, self.layout, self.hparams)

    @override
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        sweep = _sweep(trainer)
        if not self.hparams or sweep is None or not sweep.history or not trainer.is_global_zero:
            return
        report = run_report(sweep.history, sweep.zero_shot, sweep.test_result)
        params = run_params(pl_module, trainer, sweep)
        for logger in trainer.loggers:
            log_run_end(logger, sweep.history[-1], report, params, trainer.global_step)


TensorBoardDashboard = LoggerDashboard  # the name of earlier releases


def _sweep(trainer: Trainer) -> Any:
    """The trainer's interpolation sweep callback (found by what it has: history and settings)."""
    callbacks = getattr(trainer, "callbacks", [])
    return next((c for c in callbacks if hasattr(c, "history") and hasattr(c, "settings")), None)
