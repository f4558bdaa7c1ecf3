"""Checks of the module's hyperparameters, and the message when training diverges."""

from __future__ import annotations

import math
from typing import Any


def validate_hparams(
    lr: float,
    weight_decay: float,
    warmup_steps: int,
    scheduler: str,
    label_smoothing: float,
    head_logit_scale: float | None,
) -> None:
    """Raises ``ValueError`` naming the field for a setting that cannot work."""
    if not math.isfinite(lr):
        raise ValueError(f"model.lr={lr}: must be a finite positive number (the paper uses 1e-5).")
    if not lr > 0:
        raise ValueError(f"model.lr={lr}: must be positive (the paper uses 1e-5).")
    if not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"model.weight_decay={weight_decay}: must be >= 0 and finite (the paper uses 0.1).")
    if warmup_steps < 0:
        raise ValueError(f"model.warmup_steps={warmup_steps}: must be >= 0.")
    if scheduler not in ("cosine", "constant"):
        raise ValueError(f"model.scheduler={scheduler!r}: use cosine or constant.")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"model.label_smoothing={label_smoothing}: must be in [0, 1).")
    if head_logit_scale is not None and not head_logit_scale > 0:
        raise ValueError(
            f"model.head_logit_scale={head_logit_scale}: must be positive (CLIP uses 100), or null "
            "for the model's own logit scale."
        )


def non_finite_message(module: Any, loss: float, batch_idx: int) -> str:
    """What happened when the loss became NaN or infinite, and what to try."""
    trainer = module.trainer
    callback = trainer.checkpoint_callback if trainer is not None else None
    last = getattr(callback, "last_model_path", "") or getattr(callback, "best_model_path", "")
    kept = f"The last good checkpoint, {last}, is kept." if last else "No checkpoint was saved yet."
    return (
        f"Training stopped: the loss is {loss} at global step {module.global_step} "
        f"(epoch {module.current_epoch}, batch {batch_idx}). Try a lower model.lr (now "
        f"{module.hparams.lr:g}), keep trainer.gradient_clip_val set (now "
        f"{trainer.gradient_clip_val if trainer is not None else None}), more model.warmup_steps, or "
        f"trainer.precision=32-true if you use 16-bit precision. {kept}"
    )
