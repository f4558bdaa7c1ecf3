"""Exact evaluation results: integer counts per task and candidate, summed across processes.

Accuracies are computed from integer counts (never averaged floats), so one process and many
give the same numbers; standard errors and Wilson intervals follow from the counts (binomial).
Candidates evaluated in one pass are also compared image by image: for every pair of them, the
number of images one classifies correctly and the other does not (:class:`Discordance`, summed
across processes like the counts), which the paired statistics of
:mod:`~paint_lightning.selection.paired` need.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import torch
from torch import Tensor

from paint_lightning.interpolation.mix import Mix
from paint_lightning.selection.criteria import SweepCurves
from paint_lightning.selection.uncertainty import Estimate, Interval, wilson_interval

Reduce = Callable[[Tensor], Tensor]
"""Sums a tensor across processes (identity in a single process)."""


@dataclass
class Counts:
    """Correct predictions and summed cross-entropy per (task, candidate), examples per task.

    Attributes:
        tasks: Task names (rows).
        candidates: The mixes evaluated (columns).
        correct: int64 ``(len(tasks), len(candidates))``.
        total: int64 ``(len(tasks),)``.
        loss: float64 ``(len(tasks), len(candidates))``, summed cross-entropy.
        discordant: int64 ``(len(tasks), len(candidates), len(candidates))``: ``[t, i, j]`` is the
            number of images of task ``t`` that candidate ``i`` classifies correctly and ``j`` does not.
    """

    tasks: list[str]
    candidates: list[Mix]
    correct: Tensor
    total: Tensor
    loss: Tensor
    discordant: Tensor | None = None

    @classmethod
    def zeros(cls, tasks: Sequence[str], candidates: Sequence[Mix], device: torch.device | str = "cpu") -> Counts:
        """Empty counts on ``device``."""
        shape = (len(tasks), len(candidates))
        return cls(
            list(tasks),
            list(candidates),
            torch.zeros(shape, dtype=torch.long, device=device),
            torch.zeros(len(tasks), dtype=torch.long, device=device),
            torch.zeros(shape, dtype=torch.float64, device=device),
            torch.zeros((*shape, len(candidates)), dtype=torch.long, device=device),
        )

    def reduced(self, reduce: Reduce | None) -> Counts:
        """Counts summed across processes (one collective), on the CPU."""
        n, m = self.correct.shape
        discordant = self.discordant if self.discordant is not None else self.correct.new_zeros((n, m, m))
        parts = [self.correct.flatten().double(), self.total.double(), self.loss.flatten()]
        flat = torch.cat([*parts, discordant.flatten().double()])
        if reduce is not None:
            flat = reduce(flat)
        flat = flat.cpu()
        correct = flat[: n * m].round().long().view(n, m)
        total = flat[n * m : n * m + n].round().long()
        loss = flat[n * m + n : 2 * n * m + n].view(n, m)
        pairs = flat[2 * n * m + n :].round().long().view(n, m, m)
        return Counts(self.tasks, self.candidates, correct, total, loss, pairs)

    def column(self, candidate: Mix) -> TaskCounts:
        """The counts of one candidate (with the pass's :class:`Discordance`, shared by all its columns)."""
        j = self.candidates.index(candidate)
        return TaskCounts(
            {t: int(self.correct[i, j]) for i, t in enumerate(self.tasks)},
            {t: int(self.total[i]) for i, t in enumerate(self.tasks)},
            {t: float(self.loss[i, j]) for i, t in enumerate(self.tasks)},
            self.discordance,
        )

    @cached_property
    def discordance(self) -> Discordance | None:
        """The pass's image-by-image comparison of its candidates (None if not counted)."""
        if self.discordant is None:
            return None
        return Discordance(self.tasks, {c: k for k, c in enumerate(self.candidates)}, self.discordant.cpu())


@dataclass(frozen=True, eq=False)
class Discordance:
    """Image-by-image comparison of the candidates evaluated in one pass (the same images).

    Attributes:
        tasks: Task names.
        index: Candidate -> its position in ``counts``.
        counts: int64 ``(len(tasks), K, K)``: ``[t, i, j]`` images of task ``t`` that candidate
            ``i`` classifies correctly and candidate ``j`` does not.
    """

    tasks: list[str]
    index: dict[Mix, int]
    counts: Tensor

    def between(self, a: Mix, b: Mix) -> dict[str, tuple[int, int]] | None:
        """Task -> ``(a right and b wrong, a wrong and b right)``; None unless both were in this pass."""
        i, j = self.index.get(a), self.index.get(b)
        if i is None or j is None:
            return None
        return {t: (int(self.counts[k, i, j]), int(self.counts[k, j, i])) for k, t in enumerate(self.tasks)}


@dataclass
class TaskCounts:
    """The counts of one candidate: correct, examples and summed loss per task."""

    correct: dict[str, int]
    total: dict[str, int]
    loss: dict[str, float] = field(default_factory=dict)
    discordance: Discordance | None = field(default=None, compare=False, repr=False)

    def paired_with(self, other: TaskCounts, mix: Mix, other_mix: Mix) -> dict[str, tuple[int, int]] | None:
        """Task -> ``(this right and other wrong, the reverse)`` when both were measured in one pass, else None."""
        if self.discordance is None or self.discordance is not other.discordance:
            return None
        return self.discordance.between(mix, other_mix)

    def accuracy(self, task: str) -> float:
        """Accuracy in percent."""
        return 100.0 * self.correct[task] / self.total[task]

    def stderr(self, task: str) -> float:
        """Binomial standard error of :meth:`accuracy`, in points."""
        return accuracy_stderr(self.correct[task], self.total[task])

    def interval(self, task: str) -> Interval:
        """Wilson score interval of :meth:`accuracy` (about 68%, honest at 0% and 100%), in points."""
        return wilson_interval(self.correct[task], self.total[task])

    def estimate(self, task: str) -> Estimate:
        """``(accuracy, low, high)``: :meth:`accuracy` and :meth:`interval`."""
        return (self.accuracy(task), *self.interval(task))

    def mean_loss(self, task: str) -> float | None:
        """Mean cross-entropy, if it was measured."""
        return self.loss[task] / self.total[task] if task in self.loss else None

    def to_json(self) -> dict[str, list[float]]:
        """``{task: [correct, total]}``: what checkpoints store."""
        return {task: [self.correct[task], self.total[task]] for task in self.correct}

    @classmethod
    def from_json(cls, data: dict[str, Sequence[int]]) -> TaskCounts:
        """Inverse of :meth:`to_json`."""
        return cls({t: int(v[0]) for t, v in data.items()}, {t: int(v[1]) for t, v in data.items()})


def accuracy_stderr(correct: int, total: int) -> float:
    """Binomial standard error of an accuracy, in points: ``100 * sqrt(p (1 - p) / n)``."""
    if total <= 0:
        return math.nan
    p = correct / total
    return 100.0 * math.sqrt(p * (1.0 - p) / total)


def curves_of(
    columns: Sequence[TaskCounts],
    zero_shot: TaskCounts,
    roles: Mapping[str, str],
    alphas: Sequence[float] | None = None,
) -> SweepCurves:
    """Held-out accuracy of each column of counts as selection curves (what the criteria score).

    Args:
        columns: The counts of each candidate, in order.
        zero_shot: The start point's counts (the support tasks' reference).
        roles: Task name -> role; ``patch`` and ``support`` tasks make the curves.
        alphas: The candidates' alphas; by default their positions (``0, 1, ...``), for mixes
            that are not one alpha.
    """
    return SweepCurves(
        list(alphas) if alphas is not None else list(range(len(columns))),
        patch={n: [c.accuracy(n) for c in columns] for n, r in roles.items() if r == "patch"},
        support={n: [c.accuracy(n) for c in columns] for n, r in roles.items() if r == "support"},
        zero_shot_support={n: zero_shot.accuracy(n) for n, r in roles.items() if r == "support"},
    )
