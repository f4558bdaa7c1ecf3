"""Cheap live sweeps during a fit: which intermediate sweeps run, and what they evaluate.

Only the last sweep of a fit chooses alpha*; the sweeps before it are live curves. Two pure pieces
make them cheap (the callback, :class:`~paint_lightning.InterpolationSweep`, measures the time):

* :class:`SweepBudget` / :func:`should_sweep`: an intermediate sweep runs only while the intermediate
  sweeps' measured wall time, with the next one's expected cost (the latest one's), stays within
  ``max_fraction`` of the training time so far; the last sweep always runs.
* :func:`coarse_alphas`: a partial sweep's alphas: the grid's ends, the latest alpha* and its grid
  neighbours; :func:`partial_note` is what its record says about it (``record["partial"]``).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


def should_sweep(
    final: bool, max_fraction: float | None, train_seconds: float, sweep_seconds: float, expected: float | None
) -> bool:
    """Whether a scheduled sweep runs.

    Args:
        final: The last sweep of the fit (always runs: it chooses alpha*).
        max_fraction: Largest share of the training time the intermediate sweeps may take;
            ``None``: no budget (every scheduled sweep runs); 0: the last sweep only.
        train_seconds: Training wall time so far (sweeps excluded).
        sweep_seconds: Wall time of the intermediate sweeps so far.
        expected: Expected cost of this sweep (the latest intermediate sweep's); ``None`` before
            the first, which runs as soon as it is scheduled (its cost is what the budget learns).

    Returns:
        ``True`` when the sweep runs.
    """
    if final or max_fraction is None:
        return True
    return max_fraction > 0 and sweep_seconds + (expected or 0.0) <= max_fraction * train_seconds


@dataclass
class SweepBudget:
    """The intermediate sweeps' time account (see :func:`should_sweep`); saved in checkpoints.

    Attributes:
        max_fraction: ``sweep.max_fraction`` (``None``: no budget).
        train_seconds: Training wall time so far, sweeps excluded.
        sweep_seconds: Wall time of the intermediate sweeps so far.
        last_cost: Wall time of the latest intermediate sweep (``None`` before the first).
        skipped: Scheduled intermediate sweeps left out for the budget.
    """

    max_fraction: float | None
    train_seconds: float = 0.0
    sweep_seconds: float = 0.0
    last_cost: float | None = None
    skipped: int = 0

    def __post_init__(self) -> None:
        if self.max_fraction is not None and not self.max_fraction >= 0.0:
            raise ValueError(
                f"sweep.max_fraction={self.max_fraction}: give a non-negative share of the training time "
                "(e.g. 0.25; 0 runs the last sweep only), or null for no budget."
            )

    def allows(self, final: bool) -> bool:
        """Whether a sweep scheduled now runs (:func:`should_sweep` on this account)."""
        return should_sweep(final, self.max_fraction, self.train_seconds, self.sweep_seconds, self.last_cost)

    def charge(self, seconds: float) -> None:
        """Adds an intermediate sweep's measured wall time."""
        self.sweep_seconds += seconds
        self.last_cost = seconds

    def state(self) -> dict[str, Any]:
        """The account as plain data (checkpoints)."""
        return {key: value for key, value in asdict(self).items() if key != "max_fraction"}

    def restore(self, state: Mapping[str, Any] | None) -> None:
        """Continues an account saved by :meth:`state` (a resumed fit); ``None`` leaves it as it is."""
        if state:
            self.train_seconds = float(state.get("train_seconds", 0.0))
            self.sweep_seconds = float(state.get("sweep_seconds", 0.0))
            last = state.get("last_cost")
            self.last_cost = None if last is None else float(last)
            self.skipped = int(state.get("skipped", 0))


def coarse_alphas(grid: Sequence[float], latest: float | None) -> list[float]:
    """A partial sweep's alphas: the grid's ends, ``latest`` (alpha* of the latest sweep) and its grid neighbours.

    Without a latest sweep the grid's middle alpha stands for it. An alpha* between grid points
    (an adaptive search's) is kept, with the grid points on either side.

    Args:
        grid: The sweep's alphas, sorted.
        latest: Alpha* of the latest sweep, or ``None``.
    """
    grid = sorted(grid)
    centre = grid[(len(grid) - 1) // 2] if latest is None else latest
    chosen = {grid[0], grid[-1]}
    if centre in grid:
        i = grid.index(centre)
        chosen.update(grid[max(i - 1, 0) : i + 2])
    else:
        i = bisect.bisect_left(grid, centre)
        chosen.update(grid[max(i - 1, 0) : i + 1])
        if grid[0] <= centre <= grid[-1]:
            chosen.add(centre)
    return sorted(chosen)


def partial_note(alphas: Sequence[float], grid: Sequence[float], images: Mapping[str, tuple[int, int]]) -> dict:
    """What a partial sweep's record says about itself (its ``partial`` key; full sweeps have none).

    Args:
        alphas: The alphas it evaluated.
        grid: The full sweep's alphas.
        images: Task -> ``(held-out images evaluated, held-out images)``.
    """
    return {
        "alphas": len(alphas),
        "grid_alphas": len(grid),
        "images": {name: list(pair) for name, pair in images.items()},
        "note": "intermediate live sweep: a coarse subset of the alphas on a subsample of the held-out images; "
        "the last sweep of the fit is the full search that chooses alpha*",
    }


def partial_text(record: Mapping[str, Any]) -> str:
    """``""`` for a full sweep; for a partial one, e.g. ``"partial: 5 of 11 alphas, 890 of 3140 images; "``."""
    note = record.get("partial")
    if not note:
        return ""
    used = sum(pair[0] for pair in note["images"].values())
    total = sum(pair[1] for pair in note["images"].values())
    return f"partial: {note['alphas']} of {note['grid_alphas']} alphas, {used} of {total} images; "
