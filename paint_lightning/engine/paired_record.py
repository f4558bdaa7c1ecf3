"""What the paired statistics say about a sweep: ties, the "choice is noise" test, the size needed.

Pure functions on the counts table (:mod:`~paint_lightning.selection.paired` has the maths).
They never change which alpha is selected: only the ties, the warning and the reports use them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from paint_lightning.engine.counts import TaskCounts
from paint_lightning.interpolation.mix import Mix
from paint_lightning.selection.criteria import Criterion
from paint_lightning.selection.paired import (
    PairedDifference,
    PairedTask,
    objective_weights,
    paired_difference,
    paired_task,
    required_images,
    unpaired_task,
)
from paint_lightning.selection.uncertainty import Z

TEST = "paired (McNemar, continuity-corrected), z = 1 (about 68%)"


def paired_tasks(
    table: Mapping[Mix, TaskCounts], a: float, b: float, tasks: Sequence[str]
) -> tuple[dict[str, PairedTask], bool]:
    """Per task ``(d, v, n)`` of alpha ``a`` against alpha ``b``, and whether they were paired image by image."""
    first, second = table[Mix.of(a)], table[Mix.of(b)]
    pairs = first.paired_with(second, Mix.of(a), Mix.of(b))
    result: dict[str, PairedTask] = {}
    for name in tasks:
        n = first.total[name]
        if pairs is not None:
            result[name] = paired_task(*pairs[name], n)
        else:
            result[name] = unpaired_task(first.correct[name], second.correct[name], n)
    return result, pairs is not None


def paired_selection(
    alphas: Sequence[float],
    roles: Mapping[str, str],
    table: Mapping[Mix, TaskCounts],
    criterion: Criterion,
    scores: Sequence[float],
    index: int,
) -> dict[str, Any]:
    """Ties, the best-versus-worst test and the size needed to resolve alpha*, as plain data.

    Args:
        alphas: The candidates (sorted).
        roles: Task name -> role.
        table: Counts of every candidate (with their image-by-image comparison where measured
            in one pass).
        criterion: The selection criterion (decides the tasks' weights).
        scores: The objective per candidate (``-inf`` where infeasible).
        index: Alpha*'s position.

    Returns:
        ``tied_alphas`` (feasible alphas the paired test cannot tell from alpha*, alpha*
        included), ``alpha_interval`` (``[min, max]`` of them), ``paired_test`` (the test in
        words), ``unpaired_alphas`` (alphas measured in another pass than alpha*, compared to it
        as if their errors were independent), ``noise`` (``{"worst_alpha", "spread"}`` when the
        best cannot be told from the worst feasible candidate, else None), ``required_heldout``
        (see :func:`required_size`).
    """
    patch = [n for n, r in roles.items() if r == "patch"]
    support = [n for n, r in roles.items() if r == "support"]
    weights = objective_weights(patch, support, criterion)
    best = alphas[index]
    feasible = [i for i, v in enumerate(scores) if math.isfinite(v)]

    unpaired: list[float] = []

    def against(i: int) -> PairedDifference:
        tasks, paired = paired_tasks(table, best, alphas[i], list(weights))
        if not paired and alphas[i] not in unpaired:
            unpaired.append(alphas[i])
        return paired_difference(tasks, weights)

    if not math.isfinite(scores[index]):
        tied = [best]
    else:
        tied = [alphas[i] for i in feasible if i == index or not against(i).told_apart()]
    noise = None
    others = [i for i in feasible if i != index]
    if index in feasible and others:
        worst = min(others, key=lambda i: scores[i])
        if not against(worst).told_apart():
            noise = {"worst_alpha": alphas[worst], "spread": scores[index] - scores[worst]}
    return {
        "tied_alphas": tied,
        "alpha_interval": [min(tied), max(tied)],
        "paired_test": TEST,
        "unpaired_alphas": sorted(unpaired),
        "noise": noise,
        "required_heldout": required_size(alphas, table, weights, scores, index),
    }


def required_size(
    alphas: Sequence[float],
    table: Mapping[Mix, TaskCounts],
    weights: Mapping[str, float],
    scores: Sequence[float],
    index: int,
) -> dict[str, Any]:
    """Held-out images per task that would tell alpha* from its feasible grid neighbours.

    Returns:
        ``{"images_per_task", "now", "z", "neighbours": [{"alpha", "difference", "paired",
        "images_per_task"}]}``: ``images_per_task`` is the largest over the neighbours (None when
        a neighbour scores the same as alpha* or there is no feasible neighbour), ``now`` the
        smallest weighted held-out set, ``difference`` alpha*'s objective minus the neighbour's
        (points), ``paired`` whether the two were compared image by image.
    """
    best = alphas[index]
    neighbours = []
    for i in (index - 1, index + 1):
        if 0 <= i < len(alphas) and math.isfinite(scores[i]) and math.isfinite(scores[index]):
            tasks, paired = paired_tasks(table, best, alphas[i], list(weights))
            neighbours.append(
                {
                    "alpha": alphas[i],
                    "difference": paired_difference(tasks, weights).difference,
                    "paired": paired,
                    "images_per_task": required_images(tasks, weights),
                }
            )
    sizes = [n["images_per_task"] for n in neighbours]
    return {
        "images_per_task": None if not sizes or None in sizes else max(sizes),
        "now": min((table[Mix.of(best)].total[name] for name in weights), default=0),
        "z": Z,
        "neighbours": neighbours,
    }


def required_size_line(record: Mapping[str, Any]) -> str | None:
    """One log line: the held-out size that would resolve alpha* to the grid's resolution (None: no neighbours)."""
    required = record.get("required_heldout")
    if not required or not required["neighbours"]:
        return None
    alpha = record["selected_alpha"]
    same = [n["alpha"] for n in required["neighbours"] if n["images_per_task"] is None]
    if same:
        return (
            f"alpha = {same[0]:g} scores the same as alpha* = {alpha:g} on these held-out images: no number of "
            "held-out images resolves alpha* to the grid's resolution from these differences."
        )
    others = " and ".join(f"{n['alpha']:g}" for n in required["neighbours"])
    if required["images_per_task"] <= required["now"]:
        return (
            f"alpha* = {alpha:g} is told apart from its grid neighbours ({others}) at z = {required['z']:g} with "
            f"these {required['now']} held-out images per task (about {required['images_per_task']} would do)."
        )
    return (
        f"Telling alpha* = {alpha:g} from its grid neighbours ({others}) at z = {required['z']:g} would take about "
        f"{required['images_per_task']} held-out images per task (now {required['now']}), from the paired "
        "differences observed."
    )
