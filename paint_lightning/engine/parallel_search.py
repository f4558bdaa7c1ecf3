"""Parallel patching: ``theta_0 + sum_i alpha_i (theta_i - theta_0)``, the alpha_i searched on held-out data.

Each ``theta_i`` is a model fine-tuned separately (on its own patch task) from the same start
point. The coefficients are chosen under the same criteria as single-task patching (``mean``,
``constrained``, ``constrained_mean``) over the held-out sets of every patch and support task:

* ``grid``: every combination of ``values`` (``len(values) ** n`` points; the default up to
  three end points);
* ``coordinate``: the best point of the diagonal (every alpha_i equal, task arithmetic's
  ``lambda``), then coordinate ascent (:func:`~paint_lightning.selection.coordinate.coordinate_ascent`)
  one coefficient at a time within ``budget`` points (the default beyond three end points).

Ties go to the point closest to the zero-shot model (smallest sum of coefficients).

The runs' towers (the end points) stay on the host unless the device has room for them all
(:func:`end_point_device`); the sweep then moves one parameter group of them at a time
(:func:`~paint_lightning.interpolation.combine.write_mix`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from paint_lightning.engine.alpha_sweep import SweepSettings, measure_missing
from paint_lightning.engine.counts import Counts, TaskCounts, curves_of
from paint_lightning.interpolation.mix import Mix
from paint_lightning.selection.coordinate import coordinate_ascent
from paint_lightning.selection.criteria import objective

GRID_LIMIT = 3  # end points up to which the full grid is the default
DEVICE_SHARE = 0.5  # the largest share of the device's free memory the end points may take


def end_point_device(
    ends: Sequence[Mapping[str, Tensor]], device: torch.device, free_bytes: int | None = None
) -> torch.device:
    """Where to keep the end points: ``device`` if they take at most half its free memory, else the host.

    Args:
        ends: The end points (name -> tensor).
        device: The compute device.
        free_bytes: The device's free memory (default: asked from CUDA; the CPU has room).
    """
    if device.type == "cpu":
        return device
    if free_bytes is None:
        if device.type != "cuda":
            return torch.device("cpu")
        free_bytes, _ = torch.cuda.mem_get_info(device)
    needed = sum(t.numel() * t.element_size() for end in ends for t in end.values())
    return device if needed <= DEVICE_SHARE * free_bytes else torch.device("cpu")


def zero(n: int) -> Mix:
    """The start point (every coefficient 0)."""
    return Mix.of(*([0.0] * n))


def single(n: int, i: int) -> Mix:
    """End point ``i`` alone (coefficient 1 on it, 0 on the other ``n - 1``)."""
    return Mix.of(*[1.0 if j == i else 0.0 for j in range(n)])


def scores(
    table: Mapping[Mix, TaskCounts], roles: Mapping[str, str], mixes: Sequence[Mix], settings: SweepSettings
) -> list[float]:
    """The selection objective of each mix (``-inf`` where infeasible), as for alpha."""
    curves = curves_of([table[m] for m in mixes], table[zero(mixes[0].num_ends)], roles)
    return objective(curves, settings.criterion, settings.max_support_drop, settings.max_task_drop)


def parallel_search(
    measure: Callable[[list[Mix]], Counts],
    roles: Mapping[str, str],
    names: Sequence[str],
    settings: SweepSettings,
    search: str = "auto",
    budget: int | None = None,
) -> tuple[dict[str, Any], dict[Mix, TaskCounts]]:
    """Searches the coefficients of ``len(names)`` end points; returns ``(record, table)``.

    Args:
        measure: Counts of a list of mixes (one coefficient per end point) on the held-out sets.
        roles: Task name -> role.
        names: One label per end point (the runs).
        settings: ``alphas`` is the grid each coefficient takes; ``criterion``, ``max_support_drop``.
        search: ``grid``, ``coordinate`` or ``auto`` (grid up to three end points).
        budget: Most mixes evaluated in all, the start and each run included (``None``: the
            full grid up to three end points, else coordinate ascent with ``2 * len(names) *
            len(alphas)`` points after the diagonal). With a budget, ``auto`` takes the full grid
            when it fits and coordinate ascent otherwise.

    Raises:
        ValueError: For an unknown search, or a budget below what coordinate ascent needs before
            it starts (the start, each run and the diagonal).
    """
    n = len(names)
    values = list(settings.alphas)
    if search == "auto" and budget is not None:
        search = "grid" if len(set(itertools.product(values, repeat=n)) | _corners(n)) <= budget else "coordinate"
    search = ("grid" if n <= GRID_LIMIT else "coordinate") if search == "auto" else search
    if search not in ("grid", "coordinate"):
        raise ValueError(f"search={search!r}: use grid, coordinate or auto.")
    settings.check_roles(roles)
    table: dict[Mix, TaskCounts] = {}
    singles = [single(n, i) for i in range(n)]
    measure_missing(table, measure, [zero(n), *singles])
    if search == "grid":
        candidates = [Mix.of(*point) for point in itertools.product(values, repeat=n)]
        measure_missing(table, measure, candidates)
    else:
        diagonal = [Mix.of(*([v] * n)) for v in values]
        measure_missing(table, measure, diagonal)
        best = _best(diagonal, scores(table, roles, diagonal, settings))
        evaluated = list(diagonal)

        def score(points: Sequence[dict[str, float]]) -> list[float]:
            mixes = [Mix.of(*(p[name] for name in names)) for p in points]
            measure_missing(table, measure, mixes)
            evaluated.extend(mixes)
            return scores(table, roles, mixes, settings)

        start = {name: float(c) for name, c in zip(names, best.terms, strict=True)}  # type: ignore[arg-type]
        if budget is not None and budget < len(table):
            raise ValueError(
                f"--budget={budget} is below the {len(table)} evaluations coordinate ascent needs before it "
                f"starts (the start, each of the {n} runs and the {len(values)} points of the diagonal); "
                f"give at least {len(table)}."
            )
        coordinate_ascent(score, start, values, budget - len(table) if budget is not None else 2 * n * len(values))
        candidates = list(dict.fromkeys(evaluated))
    objectives = scores(table, roles, candidates, settings)
    selected = _best(candidates, objectives)
    return record(candidates, objectives, selected, roles, names, table, settings, search), table


def _corners(n: int) -> set[tuple[float, ...]]:
    """The start and each run alone: measured by every search."""
    return {tuple(mix.terms) for mix in (zero(n), *(single(n, i) for i in range(n)))}  # type: ignore[arg-type]


def _best(mixes: Sequence[Mix], values: Sequence[float]) -> Mix:
    """Highest objective; ties to the smallest sum of coefficients, then the smallest coefficients."""
    order = sorted(range(len(mixes)), key=lambda i: (-values[i], sum(mixes[i].terms), mixes[i].terms))  # type: ignore[arg-type]
    feasible = [i for i in order if math.isfinite(values[i])]
    return mixes[(feasible or order)[0]]


def record(
    candidates: Sequence[Mix],
    objectives: Sequence[float],
    selected: Mix,
    roles: Mapping[str, str],
    names: Sequence[str],
    table: Mapping[Mix, TaskCounts],
    settings: SweepSettings,
    search: str,
) -> dict[str, Any]:
    """The search as plain data: every candidate, the choice, and each task's reference accuracies."""
    n = len(names)
    patch = [t for t, r in roles.items() if r == "patch"]
    support = [t for t, r in roles.items() if r == "support"]

    def means(counts: TaskCounts) -> dict[str, float | None]:
        return {
            "patch_accuracy": sum(counts.accuracy(t) for t in patch) / len(patch) if patch else None,
            "support_accuracy": sum(counts.accuracy(t) for t in support) / len(support) if support else None,
        }

    singles = {name: table[single(n, i)] for i, name in enumerate(names)}
    return {
        "runs": list(names),
        "search": search,
        "values": list(settings.alphas),
        "criterion": settings.describe(),
        "selected_mix": selected.to_json(),
        "objective": objectives[list(candidates).index(selected)],
        **means(table[selected]),
        "candidates": [
            {
                "mix": m.to_json(),
                "objective": v if math.isfinite(v) else None,
                **means(table[m]),
                "accuracy": {t: table[m].accuracy(t) for t in roles},
            }
            for m, v in zip(candidates, objectives, strict=True)
        ],
        "tasks": {
            t: {
                "role": role,
                "zero_shot": table[zero(n)].accuracy(t),
                "each_run": {name: counts.accuracy(t) for name, counts in singles.items()},
                "parallel": table[selected].accuracy(t),
                "num_examples": table[selected].total[t],
            }
            for t, role in roles.items()
        },
    }
