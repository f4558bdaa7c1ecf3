"""During ``fit`` the sweep is the validation: Lightning's validation loop gets no batches.

The sweep classifies every held-out set at alpha = 1 (the live weights) among its alphas, and
those counts are the validation metrics, so Lightning's own validation loop would repeat that
pass every epoch. The Trainer's settings are left as the user gave them (``limit_val_batches``,
``num_sanity_val_steps``; a later ``trainer.validate`` on the same Trainer runs as usual): instead
the DataModule's ``val_dataloader`` returns no loaders while :func:`replaces_validation` is true,
which Lightning treats as nothing to validate.
"""

from __future__ import annotations

import warnings
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_warn
from typing_extensions import override

# What Lightning says about the empty list of validation loaders; expected here, so not shown.
EMPTY_LOADERS = r"Total length of `list` across ranks is zero"


class ReplacesValidation(Callback):
    """A callback whose measurements are the validation metrics during ``fit`` (see the module docs).

    It silences Lightning's warning about the empty validation loaders for the duration of the
    fit, and warns once when a DataModule returns loaders anyway (the pass would be repeated).
    """

    measures_heldout_sets = True  # read by paint_lightning.data.evalsets.replaces_validation
    _quiet: Any = None

    @override
    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._quiet is None:
            self._quiet = warnings.catch_warnings()
            self._quiet.__enter__()
            warnings.filterwarnings("ignore", message=EMPTY_LOADERS)

    @override
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._quiet is not None:
            self._quiet.__exit__(None, None, None)
            self._quiet = None

    @override
    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        self.on_fit_end(trainer, pl_module)

    @override
    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking:
            rank_zero_warn(
                "Lightning's validation loop runs during fit, repeating the sweep's alpha = 1 pass over the held-out "
                "sets: let the DataModule's val_dataloader() return [] when "
                "paint_lightning.data.evalsets.replaces_validation(self.trainer) is true (PaintDataModule does)."
            )
