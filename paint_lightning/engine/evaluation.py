"""The test evaluation: zero-shot, fine-tuned and patched accuracy on every test split, in one pass.

:func:`compare_on_test` is what ``paint fit``/``paint test`` (through the sweep callback) and
``paint sweep`` report; :func:`mixes_on_test` is the same measurement for mixes of other end
points (``paint parallel``: each method's chosen mix, each run, and the start point).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paint_lightning.engine.alpha_sweep import Measure, measure_missing
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.record import test_record
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix


def compare_on_test(
    measure: Measure,
    roles: Mapping[str, str],
    alpha: float | None,
    known: Mapping[Mix, TaskCounts] | None = None,
    also: Sequence[Mix] = (),
) -> tuple[dict[str, Any], dict[Mix, TaskCounts]]:
    """Zero-shot (alpha 0), fine-tuned (alpha 1) and patched (alpha*) accuracy on the test sets.

    Everything not ``known`` is measured in one pass.

    Args:
        measure: Counts of a list of mixes over the test sets (all processes).
        roles: Task name -> role, in report order.
        alpha: Alpha* (``None``: zero-shot and fine-tuned only).
        known: Test counts already measured (e.g. the live weights' from Lightning's test loop);
            not measured again.
        also: Further mixes to measure in the same pass (e.g. a per-block search's mixes).

    Returns:
        ``(record, table)``: the test record (:func:`~paint_lightning.engine.record.test_record`)
        and every count measured or known.
    """
    table: dict[Mix, TaskCounts] = dict(known or {})
    wanted = [ZERO_SHOT, FINE_TUNED] + ([Mix.of(alpha)] if alpha is not None else []) + list(also)
    measure_missing(table, measure, wanted)
    return test_record(roles, table, alpha), table


def mixes_on_test(measure: Measure, roles: Mapping[str, str], mixes: Sequence[Mix]) -> list[dict[str, dict[str, Any]]]:
    """Test accuracy (%) and its standard error per task at each mix, in one pass.

    Returns one ``{task: {role, accuracy, stderr}}`` per mix, in order.

    Args:
        measure: Counts of a list of mixes over the test sets, with the end points the mixes combine.
        roles: Task name -> role, in report order.
        mixes: The mixes to measure.
    """
    table: dict[Mix, TaskCounts] = {}
    measure_missing(table, measure, list(mixes))
    return [
        {t: {"role": r, "accuracy": table[m].accuracy(t), "stderr": table[m].stderr(t)} for t, r in roles.items()}
        for m in mixes
    ]
