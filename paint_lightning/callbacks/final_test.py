"""The final test report: zero-shot, fine-tuned and patched accuracy on every test split."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from paint_lightning.callbacks import per_block
from paint_lightning.callbacks.runtime import SweepRuntime
from paint_lightning.engine.alpha_sweep import SweepSettings
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.evaluation import compare_on_test
from paint_lightning.engine.record import final_table
from paint_lightning.engine.sweep_schedule import partial_text
from paint_lightning.interpolation.mix import FINE_TUNED, Mix


def evaluate_test(
    runtime: SweepRuntime,
    settings: SweepSettings,
    history: list[dict[str, Any]],
    alpha: float | None,
    live: TaskCounts | None = None,
) -> dict[str, Any]:
    """Zero-shot, fine-tuned and patched accuracy on every test split; prints the table.

    Collective. With a per-block search in the latest sweep record, its mixes are measured and
    compared with alpha* too (:mod:`~paint_lightning.callbacks.per_block`).

    Args:
        runtime: The trainer's engine calls.
        settings: The sweep's settings (the start point's name for the table).
        history: The sweep records so far (the latest one's per-block search is reported).
        alpha: Alpha* (``None``: zero-shot and fine-tuned only).
        live: Counts of the live weights on the test sets, if already measured.

    Returns:
        The test record (:func:`~paint_lightning.engine.record.test_record`), with ``per_block``
        when the latest sweep searched per-block coefficients.
    """
    roles = runtime.roles()
    sizes = runtime.test_sizes()
    table: dict[Mix, TaskCounts] = {}
    if live is not None and all(live.total.get(n) == sizes[n] for n in roles):
        table[FINE_TUNED] = live
    also = per_block.mixes_to_test(history, alpha)
    with runtime.synchronised():
        result, table = compare_on_test(runtime.measure("test"), roles, alpha, table, also)
    if alpha is not None:
        rank_zero_info("\n" + final_table(result["tasks"], alpha, "test", settings.start_name))
    per_block.add_test_result(result, roles, table, history, alpha)
    return result


def test_checkpoint(runtime: SweepRuntime, settings: SweepSettings, history: list[dict[str, Any]]) -> dict[str, Any]:
    """``paint test``: :func:`evaluate_test` of a checkpoint at its latest alpha*, logged as ``test/...``.

    Lightning's test loop has counted the live weights already (when the model keeps them).

    Args:
        runtime: The trainer's engine calls (in ``on_test_epoch_end``).
        settings: The sweep's settings.
        history: The checkpoint's sweep records (none: zero-shot and fine-tuned only, with a warning).
    """
    alpha = history[-1]["selected_alpha"] if history else None
    if alpha is None:
        rank_zero_warn(
            "No alpha sweep in this checkpoint (was it trained with InterpolationSweep?): "
            "reporting zero-shot and fine-tuned accuracy only."
        )
    elif history[-1].get("partial"):
        rank_zero_warn(
            f"The latest sweep of this checkpoint is partial (a live sweep at epoch {history[-1]['epoch']}: "
            f"{partial_text(history[-1])}a fit's last sweep is the full one): alpha* = {alpha:g} is a live view, "
            "not the fit's choice. Finish the fit (paint fit --ckpt_path ...) to test the chosen alpha*."
        )
    result = evaluate_test(runtime, settings, history, alpha, live=runtime.live_counts())
    for name, row in result["tasks"].items():
        for key in ("zero_shot", "fine_tuned", "patched"):
            if row.get(key) is not None:
                runtime.model.log(f"test/{name}/{key}", row[key], add_dataloader_idx=False)
    return result
