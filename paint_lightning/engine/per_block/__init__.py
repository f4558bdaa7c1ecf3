"""Per-block coefficients (``sweep.per_block``): a finer mix than one global alpha, behind one seam.

A reader of the global-alpha path can skip this package: the sweep callback reaches it only
through :mod:`paint_lightning.callbacks.per_block`, after alpha* is chosen. Here: the search
(:mod:`.block_search`), the support-price trade-off that steers it (:mod:`.tradeoff`), coordinate
ascent over block groups (:mod:`.coordinate`) and the comparison table (:mod:`.block_report`).
"""
