"""Live sweeps that cost little: the fit's clock, the budget, and what an intermediate sweep evaluates.

The sweep callback (:class:`~paint_lightning.InterpolationSweep`) asks :class:`LiveSchedule`
whether a scheduled sweep runs (:class:`~paint_lightning.engine.sweep_schedule.SweepBudget`) and,
for an intermediate one, which alphas and how many held-out images
(:func:`~paint_lightning.engine.sweep_schedule.coarse_alphas`). The last sweep of a fit is never
touched: it always runs, in full, so alpha*, the reports and the export do not depend on the
schedule, nor on the measured times that drive it (which differ from run to run and after a resume).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Literal

from lightning.pytorch import Trainer

from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.sweep_schedule import SweepBudget, coarse_alphas
from paint_lightning.engine.sweep_settings import SweepSettings
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix

Intermediate = Literal["coarse", "full"]


class LiveSchedule:
    """When intermediate sweeps run and what they evaluate.

    Args:
        max_fraction: Largest share of the training wall time the intermediate sweeps may take
            (``None``: no budget, every scheduled sweep runs).
        intermediate: ``coarse``: the grid's ends, the latest alpha* and its grid neighbours on
            at most ``intermediate_images`` held-out images per task; ``full``: the whole search
            on every image, as the last sweep.
        intermediate_images: Held-out images per task in a coarse sweep (every k-th; ``None``: all).
        clock: Seconds (monotonic); tests inject their own.
    """

    def __init__(
        self,
        max_fraction: float | None,
        intermediate: Intermediate,
        intermediate_images: int | None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if intermediate not in ("coarse", "full"):
            raise ValueError(f"sweep.intermediate={intermediate!r}: use coarse or full.")
        if intermediate_images is not None and intermediate_images < 1:
            raise ValueError(
                f"sweep.intermediate_images={intermediate_images}: give at least 1 image per task, or null for all."
            )
        self.budget = SweepBudget(max_fraction)
        self.intermediate = intermediate
        self.intermediate_images = intermediate_images
        self.clock = clock
        self.zero_shot_subset: dict[str, list[int]] = {}  # the start point's counts on the latest sweep's images
        self._mark: float | None = None

    def start(self) -> None:
        """Training starts (or resumes): its clock runs from now."""
        self._mark = self.clock()

    def trained(self) -> None:
        """Charges the wall time since the last mark to training."""
        now = self.clock()
        if self._mark is not None:
            self.budget.train_seconds += now - self._mark
        self._mark = now

    def allows(self, final: bool) -> bool:
        """Whether the budget lets a sweep scheduled now run (the last one always does)."""
        return self.budget.allows(final)

    def decided(self, run: bool) -> bool:
        """Records the decision (rank 0's, under several processes): a skipped sweep is counted."""
        self.budget.skipped += not run
        return run

    @contextmanager
    def timed(self, final: bool) -> Iterator[None]:
        """Times a sweep: an intermediate one is charged to the budget; neither counts as training."""
        began = self.clock()
        try:
            yield
        finally:
            if not final:
                self.budget.charge(self.clock() - began)
            self._mark = self.clock()

    def known(
        self, zero_shot: Mapping[str, list[int]], live: TaskCounts | None, sizes: Mapping[str, int], final: bool
    ) -> dict[Mix, TaskCounts]:
        """Counts a sweep on held-out sets of ``sizes`` need not measure again.

        The start point's, when the run's (``zero_shot``) or the latest sweep's were counted on
        these images (the last sweep of a fit measures it again, to pair it image by image); the
        live weights' counts ``live`` (Lightning's validation loop) when they cover every image.
        """
        known = {}
        for counts in (zero_shot, self.zero_shot_subset) if not final else ():
            if set(counts) == set(sizes) and all(counts[n][1] == sizes[n] for n in sizes):
                known[ZERO_SHOT] = TaskCounts.from_json(dict(counts))
        if live is not None and all(live.total.get(n) == sizes[n] for n in sizes):
            known[FINE_TUNED] = live
        return known

    def partial(self, settings: SweepSettings, latest: float | None) -> tuple[SweepSettings, int | None] | None:
        """An intermediate sweep's settings and images per task; ``None`` when it is a full one."""
        if self.intermediate == "full":
            return None
        alphas = coarse_alphas(settings.alphas, latest)
        return dataclasses.replace(settings, alphas=tuple(alphas), search="grid"), self.intermediate_images


def last_epoch(trainer: Trainer) -> bool:
    """Whether the epoch that just ended is the fit's last (by max_epochs, max_steps or a stop request)."""
    epochs, steps = trainer.max_epochs, trainer.max_steps
    return (
        (epochs is not None and epochs >= 0 and trainer.current_epoch + 1 >= epochs)
        or (steps is not None and steps >= 0 and trainer.global_step >= steps)
        or trainer.should_stop
    )
