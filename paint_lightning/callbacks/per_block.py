"""The per-block step of the sweep callback: the one seam between the Trainer and per-block coefficients.

With ``sweep.per_block`` set, the last sweep of a run (and ``paint validate``) goes on to search
per-block coefficients from alpha* on the held-out sets
(:func:`~paint_lightning.engine.per_block.block_search.search_blocks`); the finer mix becomes the
record's ``selected_mix`` (and so the exported one) only when it wins under ``accept`` (by default
on a confirm part of the held-out sets that the search never scored: :func:`heldout_parts`), and
the final test report shows alpha* and the per-block mix side by side. Without it every function here does
nothing, so a reader of the global-alpha path can skip this module and
:mod:`paint_lightning.engine.per_block`. The callers:

* :class:`~paint_lightning.callbacks.interpolation_sweep.InterpolationSweep`: :func:`after_last_sweep`
  (after the last sweep of a fit and in ``paint validate``), :func:`before_test` (``paint test``);
* :func:`~paint_lightning.callbacks.final_test.evaluate_test`: :func:`mixes_to_test` (what to measure
  besides alpha*) and :func:`add_test_result` (the comparison on the test splits).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from paint_lightning.callbacks.outputs import log_per_block
from paint_lightning.callbacks.runtime import SweepRuntime
from paint_lightning.data.heldout import confirm_split, stable_seed
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.per_block.block_report import comparison_table, per_block_mixes, per_block_test
from paint_lightning.engine.per_block.block_search import FIELD, BlockSearch, HeldoutParts, search_blocks
from paint_lightning.engine.protocol import patch_tensors
from paint_lightning.engine.sweep_settings import SweepSettings
from paint_lightning.errors import UserError
from paint_lightning.interpolation.mix import Mix, parameter_group


def after_last_sweep(
    runtime: SweepRuntime,
    settings: SweepSettings,
    block: BlockSearch | None,
    record: dict[str, Any],
    table: dict[Mix, TaskCounts],
) -> bool:
    """Searches per-block coefficients from ``record``'s alpha* on the held-out sets (collective).

    Adds ``per_block`` (the search) to ``record`` and sets its ``selected_mix`` (alpha* unless the
    finer mix won); logs the search and prints the comparison table. Does nothing without
    ``block`` or when ``record`` has a search already.

    Args:
        runtime: The trainer's engine calls.
        settings: The sweep's settings (criterion and limits).
        block: The search's settings (``sweep.per_block``; ``None``: off).
        record: The last sweep's record (changed in place).
        table: That sweep's held-out counts by mix (reused, not measured again; the search adds its own).

    Returns:
        Whether a search ran (and ``record`` changed).
    """
    if block is None or "per_block" in record:
        return False
    groups = [parameter_group(name) for name in patch_tensors(runtime.model)[0]]
    parts = heldout_parts(runtime, block.confirm_fraction) if block.accept == "confirm" else None
    with runtime.synchronised():
        result = search_blocks(
            runtime.measure("heldout"), runtime.roles(), settings, block, groups, record["selected_alpha"], table, parts
        )
    record["per_block"] = result
    record["selected_mix"] = result["selected_mix"]
    log_per_block(runtime.trainer, result)
    rank_zero_info("\n" + comparison_table(result, None))
    for warning in result["warnings"]:
        rank_zero_warn(f"Per-block coefficients may not mean much: {warning}")
    return True


def heldout_parts(runtime: SweepRuntime, fraction: float) -> HeldoutParts:
    """Measures over each held-out set's search part and its confirm part (``fraction`` of it).

    The parts come from :func:`~paint_lightning.data.heldout.confirm_split`, seeded by the
    DataModule's ``split_seed`` (0 for a DataModule without one) and the task name: the same on
    every process and every number of processes; each part is sharded across processes like a
    whole held-out set, so its counts are exact.

    Raises:
        UserError: A held-out set too small to split, naming the settings that fix it.
    """
    seed = getattr(runtime.datamodule, "split_seed", 0)
    split = {}
    for name, size in runtime.heldout_sizes().items():
        if size < 2:
            raise UserError(
                f"{FIELD}.accept=confirm: the held-out set of task {name!r} has {size} image(s), too few for a "
                "search and a confirm part; hold out more images (data.heldout_fraction, data.heldout_max) or set "
                f"{FIELD}.accept=paired."
            )
        split[name] = confirm_split(size, fraction, stable_seed(seed, name, "confirm"))
    search = runtime.measure("heldout", {name: parts[0] for name, parts in split.items()})
    confirm = runtime.measure("heldout", {name: parts[1] for name, parts in split.items()})
    return HeldoutParts(search, confirm)


def before_test(block: BlockSearch | None, history: list[dict[str, Any]]) -> None:
    """``paint test``: warns when ``sweep.per_block`` is set but the checkpoint's last sweep has no search."""
    if block is not None and history and "per_block" not in history[-1]:
        rank_zero_warn(
            "sweep.per_block is set but this checkpoint's last sweep has no per-block search (it runs at the "
            "end of `paint fit` and in `paint validate`): reporting alpha* only."
        )


def mixes_to_test(history: list[dict[str, Any]], alpha: float | None) -> list[Mix]:
    """The mixes the test report compares with alpha*: none unless the latest sweep searched per block.

    Args:
        history: The sweep records so far.
        alpha: Alpha* of the test report (``None``: no patched model, nothing to compare).
    """
    search = _latest_search(history, alpha)
    return per_block_mixes(search) if search is not None else []


def add_test_result(
    result: dict[str, Any],
    roles: Mapping[str, str],
    table: Mapping[Mix, TaskCounts],
    history: list[dict[str, Any]],
    alpha: float | None,
) -> None:
    """Adds ``per_block`` (alpha* and the per-block mix on the test splits) to ``result`` and prints both.

    Does nothing unless the latest sweep searched per block.

    Args:
        result: The test record (changed in place).
        roles: Task name -> role.
        table: Test counts, :func:`mixes_to_test`' included.
        history: The sweep records so far.
        alpha: Alpha* of the test report.
    """
    search = _latest_search(history, alpha)
    if search is not None:
        result["per_block"] = per_block_test(roles, table, search)
        rank_zero_info("\n" + comparison_table(search, result["per_block"]))


def _latest_search(history: list[dict[str, Any]], alpha: float | None) -> dict[str, Any] | None:
    return history[-1].get("per_block") if history and alpha is not None else None
