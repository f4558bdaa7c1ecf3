"""Learning-rate schedules: linear warm-up, then cosine decay (or a constant rate)."""

from __future__ import annotations

import math
from typing import Literal

Schedule = Literal["cosine", "constant"]


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor at ``step``: linear warm-up over ``warmup`` steps, then cosine to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def warmup_constant(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor at ``step``: linear warm-up over ``warmup`` steps, then 1."""
    return (step + 1) / warmup if step < warmup else 1.0


def schedule_factor(name: Schedule, step: int, warmup: int, total: int) -> float:
    """The factor of schedule ``name`` at ``step``."""
    return (warmup_cosine if name == "cosine" else warmup_constant)(step, warmup, total)
