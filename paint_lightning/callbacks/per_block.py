"""The per-block search inside the Trainer: finer coefficients from a sweep's alpha*."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from paint_lightning.callbacks.outputs import log_per_block
from paint_lightning.callbacks.runtime import SweepRuntime
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.per_block.block_report import comparison_table
from paint_lightning.engine.per_block.block_search import BlockSearch, search_blocks
from paint_lightning.engine.protocol import patch_tensors
from paint_lightning.engine.sweep_settings import SweepSettings
from paint_lightning.interpolation.mix import Mix, parameter_group


def search_per_block(
    runtime: SweepRuntime,
    settings: SweepSettings,
    per_block: BlockSearch,
    record: dict[str, Any],
    table: dict[Mix, TaskCounts],
) -> dict[str, Any]:
    """Searches per-block coefficients from ``record``'s alpha* on the held-out sets (collective).

    Adds ``per_block`` (the search, :func:`~paint_lightning.engine.per_block.block_search.search_blocks`) to
    ``record`` and sets its ``selected_mix`` (alpha* unless the finer mix won); logs the search
    and prints the comparison table.

    Args:
        runtime: The trainer's engine calls.
        settings: The sweep's settings (criterion and limits).
        per_block: The search's settings.
        record: The sweep record to start from (changed in place).
        table: That sweep's held-out counts by mix (reused, not measured again).

    Returns:
        The search's result.
    """
    groups = [parameter_group(name) for name in patch_tensors(runtime.model)[0]]
    with runtime.synchronised():
        result = search_blocks(
            runtime.measure("heldout"), runtime.roles(), settings, per_block, groups, record["selected_alpha"], table
        )
    record["per_block"] = result
    record["selected_mix"] = result["selected_mix"]
    log_per_block(runtime.trainer, result)
    rank_zero_info("\n" + comparison_table(result, None))
    for warning in result["warnings"]:
        rank_zero_warn(f"Per-block coefficients may not mean much: {warning}")
    return result
