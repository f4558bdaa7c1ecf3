"""Paired ties, the "choice is noise" test and the required held-out size, in sweep records."""

import pytest
import torch

from paint_lightning.engine.alpha_sweep import SweepSettings
from paint_lightning.engine.counts import Counts
from paint_lightning.engine.paired_record import required_size_line
from paint_lightning.engine.record import summary_line, sweep_record
from paint_lightning.engine.sweeper import add_pairs
from paint_lightning.interpolation.mix import Mix

N = 1000


def _right(*ranges: range) -> torch.Tensor:
    right = torch.zeros(N, dtype=torch.bool)
    for r in ranges:
        right[list(r)] = True
    return right


def _record(alphas: list[float], right: list[torch.Tensor], paired: bool = True) -> dict:
    """One patch task of N images; ``right[k]``: which images alpha ``alphas[k]`` classifies correctly."""
    mixes = [Mix.of(a) for a in alphas]
    counts = Counts.zeros(["p"], mixes)
    counts.total[0] = N
    counts.correct[0] = torch.stack(right).sum(dim=1)
    add_pairs(counts, 0, range(len(alphas)), right)
    if not paired:
        counts.discordant = None
    table = {mix: counts.column(mix) for mix in mixes}
    return sweep_record(alphas, {"p": "patch"}, table, SweepSettings(alphas=tuple(alphas)))


ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]
# alpha* = 0.5 is right on images 0-799. 0.75 loses 10 of them (790-799) and wins none; 0.25 loses 25
# (775-799) and wins 20 others (800-819); 0 and 1 are right on subsets (0-699, 0-749).
CURVE = [
    _right(range(700)),
    _right(range(775), range(800, 820)),
    _right(range(800)),
    _right(range(790)),
    _right(range(750)),
]


def test_paired_ties_are_tighter_than_independent_intervals() -> None:
    record = _record(ALPHAS, CURVE)
    assert record["selected_alpha"] == 0.5
    # 0.25: D = 0.5 points, stderr sqrt(45) / 10 = 0.67, 0.5 - 0.1 < 0.67: tied.
    # 0.75: D = 1 point, stderr sqrt(10) / 10 = 0.32, 1 - 0.1 >= 0.32: told apart, though its 79.0%
    # lies within alpha*'s Wilson interval (80.0% +- 1.26), which used to tie it.
    assert record["tied_alphas"] == [0.25, 0.5] and record["alpha_interval"] == [0.25, 0.5]
    assert record["objective_interval"][0] < 79.0
    assert "(alphas 0.25-0.5 cannot be told apart from alpha* on these held-out images)" in summary_line(record)
    # Without the image-by-image comparison the errors are taken as independent: 0.75 is tied too.
    unpaired = _record(ALPHAS, CURVE, paired=False)
    assert unpaired["tied_alphas"] == [0.25, 0.5, 0.75] and unpaired["unpaired_alphas"] == [0.0, 0.25, 0.75, 1.0]
    assert record["unpaired_alphas"] == []


def test_required_size_on_a_constructed_curve() -> None:
    required = _record(ALPHAS, CURVE)["required_heldout"]
    # 0.25: D = 0.005, S = 0.045: (sqrt(0.045) + sqrt(0.045 + 4 * 0.005))^2 / (4 * 0.005^2) = 2181.7 -> 2182.
    # 0.75: D = 0.01, S = 0.01: (0.1 + sqrt(0.01 + 0.04))^2 / 0.0004 = 261.8 -> 262. The larger decides.
    assert [(n["alpha"], n["images_per_task"], n["paired"]) for n in required["neighbours"]] == [
        (0.25, 2182, True),
        (0.75, 262, True),
    ]
    assert [n["difference"] for n in required["neighbours"]] == pytest.approx([0.5, 1.0])
    assert (required["images_per_task"], required["now"], required["z"]) == (2182, N, 1.0)
    line = required_size_line(_record(ALPHAS, CURVE))
    assert line is not None and "about 2182 held-out images per task (now 1000)" in line and "0.25 and 0.75" in line


def test_a_size_already_reached_is_said_to_tell_alpha_star_apart() -> None:
    record = _record(ALPHAS, CURVE)
    record["required_heldout"]["images_per_task"] = record["required_heldout"]["now"]  # as if 1000 were enough
    line = required_size_line(record)
    assert line is not None and "is told apart from its grid neighbours (0.25 and 0.75)" in line
    assert "these 1000 held-out images per task (about 1000 would do)" in line


def test_a_neighbour_that_scores_the_same_cannot_be_resolved() -> None:
    same = [CURVE[0], CURVE[2], _right(range(10), range(20, 810)), CURVE[0]]  # 0.5 swaps 10 images with 0.25
    record = _record([0.0, 0.25, 0.5, 1.0], same)
    assert record["selected_alpha"] == 0.25  # ties go to the smaller alpha: selection is unchanged
    assert record["required_heldout"]["images_per_task"] is None
    assert record["required_heldout"]["neighbours"][-1]["images_per_task"] is None
    line = required_size_line(record)
    assert line is not None and line.startswith("alpha = 0.5 scores the same as alpha* = 0.25")


@pytest.mark.parametrize(
    ("worst", "noise"),
    [
        (_right(range(780)), False),  # 20 images lost, none won: a paired test tells them apart
        (_right(range(600), range(820, 1000)), True),  # 200 lost, 180 won: it cannot
    ],
)
def test_the_choice_is_noise_when_best_and_worst_cannot_be_told_apart(worst: torch.Tensor, noise: bool) -> None:
    record = _record([0.0, 0.5, 1.0], [worst, _right(range(800)), _right(range(790))])
    assert record["selected_alpha"] == 0.5
    # Either way the Wilson intervals at 78% and 80% of 1000 overlap (the old rule always warned).
    assert any("the choice among them is noise" in w for w in record["warnings"]) is noise
