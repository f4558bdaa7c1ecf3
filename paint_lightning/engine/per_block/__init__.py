"""Per-block coefficients (``sweep.per_block``): a finer mix than one global alpha, searched after alpha*.

A reader of the global-alpha path (:mod:`~paint_lightning.engine.alpha_sweep`,
:mod:`~paint_lightning.engine.record`, :mod:`~paint_lightning.engine.sweeper`) can skip this
package: nothing there imports it. The Trainer reaches it through one seam,
:mod:`paint_lightning.callbacks.per_block`, a no-op without ``sweep.per_block``: the sweep
callback calls it after its last sweep (and before ``paint test``), the final test report calls it
for the per-block mix's test accuracy. Outside the Trainer, the study scripts under ``docs/`` call
:func:`~paint_lightning.engine.per_block.block_search.search_blocks` directly.

Modules (pure functions of held-out counts; this package imports only the engine's counts, record
and settings, and the interpolation and selection layers below it; coordinate ascent is
:mod:`paint_lightning.selection.coordinate`, shared with :mod:`~paint_lightning.engine.parallel_search`):

* :mod:`.block_search`: :class:`~.block_search.BlockSearch` (the settings) and
  :func:`~.block_search.search_blocks` (the search from alpha*, kept only if it wins);
* :mod:`.ascent`: the climb itself (coordinate ascent over depth schedules or groups);
* :mod:`.acceptance`: the rules that decide whether it wins (``accept``: ``confirm`` on a part of
  the held-out sets the search never scored, ``paired`` by a margin corrected for the mixes tried,
  ``gain`` the old rule, prone to the winner's curse), with the numbers each used;
* :mod:`.tradeoff`: the guide the search climbs under a constrained criterion, and its three
  constants (``PRICE_SPAN``, ``PRICE_DISCOUNT``, ``OVER_LIMIT``) with the reason for each;
* :mod:`.block_report`: alpha* and the per-block mix side by side, held-out and test.
"""
