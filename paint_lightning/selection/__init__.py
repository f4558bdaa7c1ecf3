"""Pure maths on accuracies: which alpha (or mix) to choose from held-out counts.

Criteria and :func:`select_alpha` (:mod:`.criteria`), uncertainty of accuracies
(:mod:`.uncertainty`), paired statistics between alphas measured on the same images
(:mod:`.paired`), the grid / adaptive search over alpha (:mod:`.search`), and coordinate ascent over
several coefficients with a budget (:mod:`.coordinate`: per-block mixes, parallel patching).
"""

from paint_lightning.selection.criteria import CRITERIA, Criterion, SweepCurves, select_alpha
from paint_lightning.selection.search import adaptive_alpha_search, grid_alphas

__all__ = ["CRITERIA", "Criterion", "SweepCurves", "adaptive_alpha_search", "grid_alphas", "select_alpha"]
