"""Checks of the DataModule's settings, each error naming the field and the fix."""

from __future__ import annotations


def validate_data_settings(
    batch_size: int,
    eval_batch_size: int | None,
    num_workers: int,
    heldout_fraction: float,
    heldout_max: int,
    eval_cache_mb: int,
) -> None:
    """Raises ``ValueError`` naming the field for a size that cannot work."""
    if batch_size < 1:
        raise ValueError(f"data.batch_size={batch_size}: must be at least 1.")
    if eval_batch_size is not None and eval_batch_size < 1:
        raise ValueError(f"data.eval_batch_size={eval_batch_size}: must be at least 1, or null for data.batch_size.")
    if num_workers < 0:
        raise ValueError(f"data.num_workers={num_workers}: must be >= 0 (0 loads in the main process).")
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(
            f"data.heldout_fraction={heldout_fraction}: must be in (0, 1); alpha is chosen on "
            "the held-out split, so it cannot be empty (0.1 is the usual choice)."
        )
    if heldout_max < 1:
        raise ValueError(f"data.heldout_max={heldout_max}: must be at least 1 (held-out images per task).")
    if eval_cache_mb < 0:
        raise ValueError(f"data.eval_cache_mb={eval_cache_mb}: must be >= 0 (0 disables the cache).")
