"""SweepSettings' per-task limits and start name, through sweep_alphas with counts made up per alpha."""

import pytest

from paint_lightning.engine.alpha_sweep import SweepSettings, sweep_alphas
from paint_lightning.engine.counts import Counts
from paint_lightning.engine.record import final_table
from paint_lightning.interpolation.mix import Mix

ROLES = {"new": "patch", "earlier": "support", "other": "support"}
# Correct of 1000 per alpha: the mean support drop stays within 1.5 up to alpha 0.75, where
# "earlier" has dropped 3 points (30 images) and "other" none.
CORRECT = {
    "new": {0.0: 100, 0.25: 200, 0.5: 300, 0.75: 400, 1.0: 500},
    "earlier": {0.0: 900, 0.25: 890, 0.5: 880, 0.75: 870, 1.0: 840},
    "other": {0.0: 800, 0.25: 800, 0.5: 800, 0.75: 800, 1.0: 780},
}


def _measure(mixes: list[Mix]) -> Counts:
    import torch

    tasks = list(ROLES)
    correct = torch.tensor([[CORRECT[t][m.alpha] for m in mixes] for t in tasks])
    return Counts(tasks, list(mixes), correct, torch.full((3,), 1000), torch.zeros(3, len(mixes), dtype=torch.float64))


def _sweep(**settings) -> dict:
    settings = SweepSettings(alphas=(0.0, 0.25, 0.5, 0.75, 1.0), criterion="constrained_mean", **settings)
    return sweep_alphas(_measure, ROLES, settings)[0]


def test_a_per_task_limit_protects_an_earlier_patch_the_mean_lets_drop() -> None:
    plain = _sweep(max_support_drop=1.5)
    assert plain["selected_alpha"] == 0.75 and plain["limits"]["tasks"] == {}
    assert plain["limits"]["support"]["drop"] == pytest.approx(1.5)
    limited = _sweep(max_support_drop=1.5, max_task_drop={"earlier": 1.0})
    assert limited["selected_alpha"] == 0.25
    assert limited["limits"]["tasks"]["earlier"] == {"limit": 1.0, "drop": pytest.approx(1.0), "held": True}
    assert limited["criterion"] == (
        "max patch accuracy with the support tasks on average within 1.5 points of zero-shot, "
        "and on its own: earlier within 1"
    )


def test_per_task_limits_are_checked_against_the_criterion_and_the_roles() -> None:
    with pytest.raises(ValueError, match=r"sweep\.max_task_drop=\{'earlier': 1.0\}: per-task limits need"):
        SweepSettings(max_task_drop={"earlier": 1.0})
    with pytest.raises(ValueError, match=r"sweep\.max_task_drop\['earlier'\]=-1: give a non-negative number"):
        SweepSettings(criterion="constrained", max_support_drop=1.0, max_task_drop={"earlier": -1})
    with pytest.raises(ValueError, match=r"names \['new'\], which are not support tasks of this run"):
        _sweep(max_support_drop=1.5, max_task_drop={"new": 1.0})


def test_the_start_can_be_named_for_runs_that_start_from_a_patch() -> None:
    record = _sweep(max_support_drop=1.5, start_name="start")
    assert record["start_name"] == "start" and record["criterion"].endswith("within 1.5 points of start")
    rows = {"new": {"role": "patch", "zero_shot": 10.0, "fine_tuned": 50.0, "patched": 40.0}}
    assert final_table(rows, 0.75, "test", "start").splitlines()[1].split()[2] == "start"
    assert final_table(rows, 0.75, "test").splitlines()[1].split()[2] == "zero-shot"
    with pytest.raises(ValueError, match="start_name=''"):
        SweepSettings(start_name="")
