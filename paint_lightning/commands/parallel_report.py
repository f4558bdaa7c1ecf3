"""``paint parallel``'s comparison: each method's held-out objective and test accuracy, absolute and normalised.

Normalised accuracy follows the merging literature: a patch task's test accuracy divided by that
of the run fine-tuned on it; a support task's divided by the zero-shot model's
(:mod:`~paint_lightning.selection.normalised`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paint_lightning.engine.parallel_search import single
from paint_lightning.interpolation.mix import Mix
from paint_lightning.selection.normalised import normalised


def patched_by(provenances: Sequence[Mapping[str, Any] | None], reports: Sequence[Mapping[str, Any] | None]) -> dict:
    """Task name -> index of the run that was fine-tuned on it (its role ``patch`` when it was made).

    Read from each run's recorded data provenance, else from its ``paint_report.json``; a task
    patched by several runs is not attributed (it has no single fine-tuned model).
    """
    owners: dict[str, list[int]] = {}
    for index, (provenance, report) in enumerate(zip(provenances, reports, strict=True)):
        tasks = (provenance or {}).get("tasks") or (report or {}).get("tasks") or {}
        for name, task in tasks.items():
            if isinstance(task, Mapping) and task.get("role") == "patch":
                owners.setdefault(name, []).append(index)
    return {name: runs[0] for name, runs in owners.items() if len(runs) == 1}


def references(
    roles: Mapping[str, str],
    owners: Mapping[str, int],
    run_tests: Sequence[Mapping[str, Mapping[str, Any]]],
    zero_test: Mapping[str, Mapping[str, Any]],
) -> dict[str, float | None]:
    """Task name -> the test accuracy each task is normalised by.

    Args:
        roles: Task name -> role.
        owners: Task name -> index of its fine-tuned run (:func:`patched_by`).
        run_tests: Each run's own test rows (``{task: {accuracy, ...}}``), in ``--runs`` order.
        zero_test: The zero-shot model's test rows.
    """
    out: dict[str, float | None] = {}
    for name, role in roles.items():
        if role == "patch":
            out[name] = run_tests[owners[name]][name]["accuracy"] if name in owners else None
        else:
            out[name] = zero_test[name]["accuracy"]
    return out


def add_normalised(test: dict[str, dict[str, Any]], refs: Mapping[str, float | None]) -> None:
    """Adds ``normalised`` (%) to each task row of a method's test rows."""
    for name, row in test.items():
        row["normalised"] = normalised(row["accuracy"], refs.get(name))


def comparison(
    methods: Mapping[str, Mapping[str, Any]],
    zero_test: Mapping[str, Any],
    run_tests: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The report's table: per method, its coefficients, held-out objective and mean test accuracies.

    Args:
        methods: Method -> ``{mix, objective, test}``.
        zero_test: The zero-shot model's test rows.
        run_tests: Each fine-tuned run's own test rows (listed after zero-shot), by run name.
    """

    def mean(test: Mapping[str, Any], role: str, key: str = "accuracy") -> str:
        values = [row.get(key) for row in test.values() if row["role"] == role]
        if not values or None in values:
            return "-"
        return f"{sum(values) / len(values):.2f}"

    lines = [
        "Parallel patching vs merges (coefficients chosen on held-out data)",
        f"{'':<16}  {'':<18}  {'held-out':>9}  {'held-out':>11}  {'test accuracy %':^24}  {'test normalised %':^24}",
        f"{'method':<16}  {'coefficients':<18}  {'objective':>9}  {'evaluations':>11}  {'patch':>11}  {'support':>11}"
        f"  {'patch':>11}  {'support':>11}",
    ]
    n = len(run_tests or {})
    singles = [(name, single(n, i).label(), "-", test) for i, (name, test) in enumerate((run_tests or {}).items())]
    rows = [("zero-shot", "0", "-", zero_test), *singles, *((m, None, None, e) for m, e in methods.items())]
    for name, label, objective, entry in rows:
        test, evaluations = entry, "-"
        if label is None:  # a method: its entry holds its mix, objective, evaluations and test rows
            test, evaluations = entry["test"], entry.get("evaluations", "-")
            label = Mix.from_json(entry["mix"]).label()
            objective = f"{entry['objective']:.2f}" if entry.get("objective") is not None else "-"
        cells = [str(evaluations), mean(test, "patch"), mean(test, "support"), mean(test, "patch", "normalised")]
        cells.append(mean(test, "support", "normalised"))
        lines.append(f"{name:<16}  {label:<18}  {objective:>9}  " + "  ".join(f"{c:>11}" for c in cells))
    lines.append("normalised: patch tasks by the run fine-tuned on each, support tasks by zero-shot")
    return "\n".join(lines)
