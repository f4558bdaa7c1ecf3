"""Per-block search on a synthetic measure whose accuracies are known functions of the mix.

The held-out sets are two parts (:class:`Parted`): the search part and the confirm part of the
default rule (``accept: confirm``), each a :class:`Synthetic` measure; the whole held-out set (what
the global sweep, ``paired`` and ``gain`` read) is their sum.
"""

import itertools
import math

import pytest
import torch

from paint_lightning.engine import Counts, SweepSettings, sweep_alphas
from paint_lightning.engine.per_block.acceptance import paired_margin
from paint_lightning.engine.per_block.block_report import comparison_table, per_block_mixes, per_block_test, summary
from paint_lightning.engine.per_block.block_search import BlockSearch, HeldoutParts, mix_of, search_blocks
from paint_lightning.interpolation import Mix

GROUPS = ["block.1", "embed", "head", "block.0"]  # any order: the search orders them by depth
ORDER = ["embed", "block.0", "block.1", "head"]
ROLES = {"p": "patch", "s": "support"}
SETTINGS = SweepSettings(criterion="constrained_mean", max_support_drop=1.5)


class Synthetic:
    """Accuracies as functions of the coefficient of each group; counts out of ``total`` examples."""

    def __init__(self, patch, support, total: int = 10_000) -> None:
        self.patch, self.support, self.total = patch, support, total
        self.measured: list[Mix] = []

    def coefficients(self, mix: Mix) -> dict[str, float]:
        return {group: mix.coefficient(0, group) for group in ORDER}

    def __call__(self, mixes: list[Mix]) -> Counts:
        self.measured += mixes
        return self.counts(mixes)

    def counts(self, mixes: list[Mix]) -> Counts:
        counts = Counts.zeros(list(ROLES), mixes)
        for j, mix in enumerate(mixes):
            c = self.coefficients(mix)
            counts.correct[0, j] = round(self.total * self.patch(c) / 100)
            counts.correct[1, j] = round(self.total * self.support(c) / 100)
        counts.total[:] = torch.tensor([self.total, self.total])
        # Image by image: the images a mix gets right are the first `correct` ones (nested).
        right = counts.correct[:, :, None] - counts.correct[:, None, :]
        counts.discordant = right.clamp(min=0)
        return counts


class Parted:
    """Held-out sets in two parts, a :class:`Synthetic` each; calling it measures the whole (their sum)."""

    def __init__(self, search: Synthetic, confirm: Synthetic) -> None:
        self.search, self.confirm = search, confirm
        self.parts = HeldoutParts(search, confirm)
        self.measured: list[Mix] = []

    def __call__(self, mixes: list[Mix]) -> Counts:
        self.measured += mixes
        a, b = self.search.counts(mixes), self.confirm.counts(mixes)
        pairs = a.discordant + b.discordant  # type: ignore[operator]
        return Counts(a.tasks, a.candidates, a.correct + b.correct, a.total + b.total, a.loss + b.loss, pairs)


def halves(patch, support, total: int = 20_000) -> Parted:
    """Both parts with the same accuracies (half the images each): the search's best is real."""
    return Parted(Synthetic(patch, support, total // 2), Synthetic(patch, support, total - total // 2))


def mean(c: dict[str, float]) -> float:
    return sum(c.values()) / len(c)


def run(measure: Synthetic | Parted, block: BlockSearch) -> tuple[dict, dict]:
    record, table = sweep_alphas(measure, ROLES, SETTINGS)
    parts = measure.parts if isinstance(measure, Parted) else None
    return record, search_blocks(measure, ROLES, SETTINGS, block, GROUPS, record["selected_alpha"], table, parts)


# Support is hurt by the shallow groups only; the patch task gains from every group.
SHALLOW_HURTS = (lambda c: 40 + 50 * mean(c), lambda c: 90 - 10 * c["embed"] - 5 * c["block.0"])


def test_coordinate_search_finds_a_better_per_block_mix_and_selects_it() -> None:
    measure = halves(*SHALLOW_HURTS)
    record, search = run(measure, BlockSearch(search="coordinate", budget=60))
    # Globally, the support drop is 15 * alpha <= 1.5, so alpha* = 0.1 and patch = 45.
    assert record["selected_alpha"] == 0.1 and search["global_objective"] == pytest.approx(45.0)
    best = search["best"]
    assert list(best) == ORDER
    # Per block: maximise e + b0 + b1 + h with 10 e + 5 b0 <= 1.5: deep groups at 1, and the
    # support budget spent on block.0 (half the cost of embed): e = 0, b0 = 0.3. Reaching it
    # needs embed to *drop* first (patch 45 -> 43.75): the guide prices the support it frees.
    assert search["support_price"] == pytest.approx(0.9 * 50 / 15)
    assert best == {"embed": 0.0, "block.0": 0.3, "block.1": 1.0, "head": 1.0}
    assert search["won"] and search["selected_mix"] == [best]  # Mix.to_json of a per-group mix
    assert search["best_objective"] == pytest.approx(40 + 50 * 2.3 / 4)
    assert search["gain"] == pytest.approx(search["best_objective"] - search["global_objective"])
    assert search["evaluations"] == len(search["trace"]) - 1 <= 60
    assert search["heldout"]["p"]["per_block"] == pytest.approx(search["best_objective"])
    assert search["heldout"]["s"]["zero_shot"] == 90.0 and search["heldout"]["p"]["fine_tuned"] == 90.0
    # The default rule: the search scored mixes on the search part only, each once; the confirm
    # part measured the zero-shot, fine-tuned, alpha* and best mixes once, after the search; the
    # whole held-out sets only the global sweep's alphas.
    accept = search["accept"]
    assert accept["rule"] == "confirm" and accept["confirm"]["gain"] == pytest.approx(search["gain"])
    assert accept["images"] == {"search": {"p": 10_000, "s": 10_000}, "confirm": {"p": 10_000, "s": 10_000}}
    assert len(set(measure.search.measured)) == len(measure.search.measured) == len(search["trace"]) + 2
    assert measure.confirm.measured == [Mix.of(0.0), Mix.of(1.0), Mix.of(0.1), mix_of(best)]
    assert all(mix.is_scalar for mix in measure.measured)
    assert search["heldout_parts"]["confirm"]["p"]["per_block"] == pytest.approx(search["best_objective"])
    assert search["warnings"] == []  # 10 000 confirm examples: the gain is far above the noise


def test_lines_search_tilts_a_depth_schedule_where_one_coordinate_at_a_time_is_stuck() -> None:
    measure = halves(*SHALLOW_HURTS)
    _, search = run(measure, BlockSearch(search="lines", budget=40))
    best = search["best"]
    values = [best[g] for g in ORDER]
    steps = [round(b - a, 6) for a, b in itertools.pairwise(values)]
    assert len(set(steps)) == 1 and steps[0] > 0  # linear, growing with depth
    assert search["won"] and Mix.from_json(search["selected_mix"]) == mix_of(best)
    # At alpha* = 0.1 the limit binds: raising the level alone crosses it, and tilting alone keeps
    # the patch accuracy (its mean) at 45. Tilting frees support accuracy, which the guide prices,
    # so the search tilts, then raises the level: slope 0.3 around level 0.2 costs 1.25 points.
    assert best == pytest.approx({"embed": 0.05, "block.0": 0.15, "block.1": 0.25, "head": 0.35})
    assert search["best_objective"] == pytest.approx(50.0) and search["evaluations"] <= 40
    # Every mix measured by the search is a linear schedule.
    for mix in measure.search.measured:
        c = [measure.search.coefficients(mix)[g] for g in ORDER]
        assert max(c[k + 1] - c[k] for k in range(3)) - min(c[k + 1] - c[k] for k in range(3)) < 1e-5


def test_global_alpha_is_kept_when_no_finer_mix_beats_it() -> None:
    # Only the mean coefficient matters, and the support limit binds exactly at alpha = 0.4 (grid
    # 0.1): no mix of the 0.1 grid per group has a feasible mean above 0.4 (the next is 0.425).
    measure = halves(lambda c: 40 + 50 * mean(c), lambda c: 90 - 10 * max(0.0, mean(c) - 0.25))
    record, search = run(measure, BlockSearch(search="coordinate", budget=30))
    assert record["selected_alpha"] == 0.4
    assert not search["won"] and search["selected_mix"] == 0.4
    assert search["best"] == dict.fromkeys(ORDER, 0.4)  # ties keep the start
    assert search["best_mix"] == 0.4 and search["accept"]["confirm"]["gain"] == 0.0


def test_min_gain_is_the_margin_a_finer_mix_must_win_by() -> None:
    for accept in ("confirm", "paired", "gain"):
        block = BlockSearch(search="coordinate", budget=60, min_gain=100.0, accept=accept)
        _, search = run(halves(*SHALLOW_HURTS), block)
        assert not search["won"] and search["selected_mix"] == 0.1 and search["gain"] > 0, accept


def test_small_held_out_sets_warn_that_the_gain_may_be_noise() -> None:
    # 50 examples: a gain of a few points is within one standard error of the objective (the gain
    # rule warns; the confirm rule warns the same way about its confirm part).
    measure = Synthetic(lambda c: 40 + 8 * mean(c), lambda c: 90 - 10 * c["embed"], total=50)
    _, search = run(measure, BlockSearch(search="coordinate", budget=60, accept="gain"))
    assert search["won"] and 0 < search["gain"] < search["objective_stderr"]
    assert "noise" in search["warnings"][0] and "p 50" in search["warnings"][0]


def test_test_record_and_table_put_global_and_per_block_side_by_side() -> None:
    measure = halves(*SHALLOW_HURTS)
    _, search = run(measure, BlockSearch(search="coordinate", budget=60))
    mixes = [Mix.of(0.0), Mix.of(1.0), *per_block_mixes(search)]
    counts = measure(mixes)
    test = per_block_test(ROLES, {m: counts.column(m) for m in mixes}, search)
    assert test["won"] and test["tasks"]["p"]["global"] == pytest.approx(45.0)
    assert test["tasks"]["p"]["per_block"] == pytest.approx(search["best_objective"])
    kept = summary(test["tasks"], "per_block")
    assert kept["gain_kept"] == pytest.approx(100 * (search["best_objective"] - 40) / 50)
    assert kept["support_drop"] == pytest.approx(1.5)
    assert test["accept"] == "confirm"
    text = comparison_table(search, test)
    lines = text.splitlines()
    assert "selected by confirm" in lines[0] and "mixes on the held-out search part" in lines[0]
    assert "embed 0, block.0 0.3, block.1 1, head 1" in text
    assert lines[2].startswith("accept: confirm: gain +23.75 on the held-out confirm part, needs > 0")
    header = lines[3].split("  ")
    assert [h.strip() for h in header if h.strip()] == ["held-out search part", "held-out confirm part", "test"]
    digits_row = next(line for line in lines if line.startswith("p "))
    # search part, confirm part (global, per-block each), then test: zero-shot, fine-tuned, global, per-block
    assert digits_row.split()[2:] == ["45.00", "68.75", "45.00", "68.75", "40.00", "90.00", "45.00", "68.75"]
    # The other rules: one block of held-out columns, the whole sets, searched and decided on.
    _, gain = run(Synthetic(*SHALLOW_HURTS), BlockSearch(search="coordinate", budget=60, accept="gain"))
    lines = comparison_table(gain, test).splitlines()
    assert "selected by gain" in lines[0] and lines[2].startswith("accept: gain: held-out gain +23.75")
    assert "held-out (searched)" in lines[3] and "confirm" not in lines[3]
    digits_row = next(line for line in lines if line.startswith("p "))
    assert digits_row.split()[2:] == ["45.00", "68.75", "40.00", "90.00", "45.00", "68.75"]


def test_mix_of_collapses_equal_values_to_a_scalar() -> None:
    assert mix_of(dict.fromkeys(ORDER, 0.3)) == Mix.of(0.3)
    assert mix_of({"embed": 0.1, "head": 0.3}) == Mix.of({"embed": 0.1, "head": 0.3})


def test_coordinate_ascent_alone_stays_at_alpha_star_without_the_guide() -> None:
    # The same problem with the guide switched off (no price): every single move either crosses the
    # limit or lowers the patch accuracy, so coordinate ascent on the objective never leaves alpha*.
    _, search = run(halves(*SHALLOW_HURTS), BlockSearch(search="lines", budget=40, price_discount=0.0))
    assert not search["won"] and search["support_price"] == 0.0


def test_lines_then_coordinate_refines_the_best_schedule_within_one_budget() -> None:
    _, lines = run(halves(*SHALLOW_HURTS), BlockSearch(search="lines", budget=30))
    _, both = run(halves(*SHALLOW_HURTS), BlockSearch(search="lines+coordinate", budget=60))
    assert both["evaluations"] <= 60 and both["best_objective"] > lines["best_objective"]


def test_mixes_outside_zero_one_are_never_measured() -> None:
    measure = halves(*SHALLOW_HURTS)
    run(measure, BlockSearch(search="lines", budget=40))
    measured = measure.search.measured + measure.confirm.measured
    assert all(0.0 <= v <= 1.0 for mix in measured for v in measure.search.coefficients(mix).values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"search": "random"}, "sweep.per_block.search"),
        ({"resolution": 0.0}, "sweep.per_block.resolution"),
        ({"budget": 0}, "sweep.per_block.budget"),
        ({"values": ()}, "sweep.per_block.values"),
        ({"rounds": 0}, "sweep.per_block.rounds"),
        ({"min_gain": -1.0}, "sweep.per_block.min_gain"),
        ({"price_span": -0.1}, "sweep.per_block.price_span"),
        ({"price_discount": math.nan}, "sweep.per_block.price_discount"),
        ({"over_limit": -1.0}, "sweep.per_block.over_limit"),
        ({"accept": "best"}, "sweep.per_block.accept"),
        ({"confirm_fraction": 1.0}, "sweep.per_block.confirm_fraction"),
        ({"confirm_fraction": 0.0}, "sweep.per_block.confirm_fraction"),
        ({"paired_z": 0.0}, "sweep.per_block.paired_z"),
    ],
)
def test_bad_settings_name_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BlockSearch(**kwargs)


def test_values_outside_zero_one_need_extrapolation() -> None:
    block = BlockSearch(values=(0.0, 0.5, 1.5))
    with pytest.raises(ValueError, match="allow_extrapolation"):
        block.check(SETTINGS)
    block.check(SweepSettings(allow_extrapolation=True))


# -- the acceptance rules (sweep.per_block.accept) ------------------------------------------------


def test_confirm_rejects_a_mix_that_only_won_on_its_search_data() -> None:
    # The search part rewards per-group mixes (SHALLOW_HURTS); on the confirm part only the
    # uniform mixes do as well (patch 40 + 50 * the smallest coefficient): the search's best
    # (embed 0, block.0 0.3, deep groups 1) keeps the support limit there but its patch accuracy is
    # 40, below alpha*'s 45. Both parts agree on every single alpha, so alpha* stays 0.1.
    search_part = Synthetic(*SHALLOW_HURTS)
    confirm_part = Synthetic(lambda c: 40 + 50 * min(c.values()), SHALLOW_HURTS[1])
    measure = Parted(search_part, confirm_part)
    record, search = run(measure, BlockSearch(search="coordinate", budget=60))
    assert record["selected_alpha"] == 0.1
    assert search["best"] == {"embed": 0.0, "block.0": 0.3, "block.1": 1.0, "head": 1.0}
    accept = search["accept"]
    assert accept["rule"] == "confirm" and accept["search"]["gain"] == pytest.approx(23.75)
    assert accept["confirm"] == pytest.approx({"global": 45.0, "best": 40.0, "gain": -5.0})
    assert not search["won"] and search["selected_mix"] == 0.1 and "alpha* kept" in accept["reason"]
    assert search["heldout_parts"]["confirm"]["p"]["per_block"] == pytest.approx(40.0)
    # The old rule accepts that very mix: searched and accepted on the same (search-part) data.
    _, old = run(Synthetic(*SHALLOW_HURTS), BlockSearch(search="coordinate", budget=60, accept="gain"))
    assert old["won"] and old["best"] == search["best"] and old["accept"]["rule"] == "gain"


def test_confirm_rejects_a_mix_over_the_support_limit_on_the_confirm_part() -> None:
    # On the confirm part block.0 costs support four times as much: the search's best spends its
    # support budget on block.0 (0.3 -> 6 points over the limit there), so it is infeasible.
    confirm_part = Synthetic(SHALLOW_HURTS[0], lambda c: 90 - 10 * c["embed"] - 20 * c["block.0"])
    _, search = run(Parted(Synthetic(*SHALLOW_HURTS), confirm_part), BlockSearch(search="coordinate", budget=60))
    assert search["best"]["block.0"] == 0.3 and search["accept"]["confirm"]["best"] is None
    assert not search["won"] and search["accept"]["confirm"]["gain"] is None
    assert "(the per-block mix is over the support limit there)" in search["accept"]["reason"]


def test_confirm_needs_the_held_out_parts() -> None:
    measure = Synthetic(*SHALLOW_HURTS)
    with pytest.raises(ValueError, match=r"sweep\.per_block\.accept=confirm"):
        run(measure, BlockSearch(search="coordinate", budget=5))


@pytest.mark.parametrize(("right_only", "tried", "accepted"), [(9, 40, True), (8, 40, False), (8, 1, True)])
def test_paired_margin_is_corrected_for_the_mixes_tried(right_only: int, tried: int, accepted: bool) -> None:
    # One patch task of 1000 images; the best mix is right on `right_only` images alpha* gets wrong
    # and never the reverse: D = b / 10 points, s.e. sqrt(b) / 10, continuity 0.1. After 40 tries
    # the one-sided z of 1.0 becomes 2.655: b = 9 reaches the margin (0.9 >= 0.1 + 2.655 * 0.3 =
    # 0.897), b = 8 does not (0.8 < 0.851), though one try (z = 1) would accept it (0.8 >= 0.383).
    out = paired_margin({"p": (right_only / 1000, right_only / 1000, 1000)}, {"p": 1.0}, tried, 1.0)
    assert out["difference"] == pytest.approx(right_only / 10)
    assert out["margin"] == pytest.approx(0.1 + out["corrected_z"] * math.sqrt(right_only) / 10)
    assert out["corrected_z"] == pytest.approx(2.6549, abs=1e-4) if tried == 40 else out["corrected_z"] == 1.0
    assert (out["difference"] >= out["margin"]) is accepted


def test_paired_rejects_a_small_gain_found_among_many_mixes_that_gain_accepts() -> None:
    # 1000 images; the patch task gains 8 images from alpha 0 to 1, support is hurt by embed only:
    # the best per-block mix is right on about 5 more images than alpha*, never on fewer (nested).
    def patch(c: dict[str, float]) -> float:
        return 40 + 0.8 * mean(c)

    def support(c: dict[str, float]) -> float:
        return 90 - 10 * c["embed"]

    _, old = run(Synthetic(patch, support, total=1000), BlockSearch(search="coordinate", budget=60, accept="gain"))
    assert old["won"] and 0 < old["gain"] < 1
    measure = Synthetic(patch, support, total=1000)
    _, search = run(measure, BlockSearch(search="coordinate", budget=60, accept="paired"))
    accept = search["accept"]
    assert search["best"] == old["best"] and accept["rule"] == "paired" and accept["paired"]
    assert accept["tried"] == search["evaluations"] > 10
    assert accept["difference"] == pytest.approx(search["gain"]) and accept["correction"] == pytest.approx(0.1)
    assert accept["stderr"] == pytest.approx(math.sqrt(search["gain"] * 10) / 10)
    assert 0 < accept["difference"] < accept["margin"] and not search["won"] and search["selected_mix"] == 0.1
    # alpha* and the best were measured together once more, for their discordant counts.
    assert measure.measured[-2:] == [Mix.of(search["global_alpha"]), Mix.from_json(search["best_mix"])]
    # The same gain on 100 times the images is far past the margin.
    _, big = run(Synthetic(patch, support, total=100_000), BlockSearch(search="coordinate", budget=60, accept="paired"))
    assert big["won"] and big["accept"]["difference"] >= big["accept"]["margin"]
