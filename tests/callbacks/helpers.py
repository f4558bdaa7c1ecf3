"""Running tiny fits in tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, Trainer, seed_everything
from lightning.pytorch.loggers import TensorBoardLogger

from paint_lightning import PaintDataModule, PaintModule
from tests.conftest import tiny_datamodule, tiny_module


def fit_tiny(
    root: Path,
    callbacks: list[Callback],
    epochs: int = 2,
    seed: int = 0,
    ckpt_path: str | None = None,
    **trainer_kwargs: Any,
) -> tuple[Trainer, PaintModule, PaintDataModule]:
    seed_everything(seed, workers=True)
    module = tiny_module(seed)
    datamodule = tiny_datamodule()
    trainer_kwargs.setdefault("enable_checkpointing", False)
    trainer = Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=epochs,
        default_root_dir=root,
        logger=TensorBoardLogger(root, name="logs"),
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=True,
        log_every_n_steps=1,
        callbacks=callbacks,
        **trainer_kwargs,
    )
    trainer.fit(module, datamodule, ckpt_path=ckpt_path, weights_only=True)
    return trainer, module, datamodule
