import pytest
import torch

from paint_lightning.engine.counts import Counts
from paint_lightning.engine.evaluation import compare_on_test, mixes_on_test
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix

ROLES = {"new": "patch", "old": "support"}
TOTAL = {"new": 200, "old": 400}


def _correct(task: str, mix: Mix) -> int:
    """Made-up counts: a different number for every (task, mix)."""
    value = sum(v for term in mix.terms for v in ([x for _, x in term] if isinstance(term, tuple) else [term]))
    return round(50 + 100 * value) if task == "new" else round(380 - 40 * value)


class Recorder:
    """A ``measure`` that remembers every pass."""

    def __init__(self) -> None:
        self.passes: list[list[Mix]] = []

    def __call__(self, mixes: list[Mix]) -> Counts:
        self.passes.append(list(mixes))
        tasks = list(ROLES)
        correct = torch.tensor([[_correct(t, m) for m in mixes] for t in tasks])
        total = torch.tensor([TOTAL[t] for t in tasks])
        return Counts(tasks, list(mixes), correct, total, torch.zeros(len(tasks), len(mixes), dtype=torch.float64))


def test_compare_on_test_measures_the_three_models_in_one_pass() -> None:
    measure = Recorder()
    record, table = compare_on_test(measure, ROLES, 0.4)
    assert measure.passes == [[ZERO_SHOT, FINE_TUNED, Mix.of(0.4)]]
    assert record["alpha"] == 0.4 and list(record["tasks"]) == list(ROLES)
    for task in ROLES:
        row = record["tasks"][task]
        for key, alpha in (("zero_shot", 0.0), ("fine_tuned", 1.0), ("patched", 0.4)):
            assert row[key] == pytest.approx(100.0 * _correct(task, Mix.of(alpha)) / TOTAL[task])
            assert row["stderr"][key] == table[Mix.of(alpha)].stderr(task)
        assert row["num_examples"] == TOTAL[task] and row["role"] == ROLES[task]


def test_compare_on_test_never_measures_known_counts_and_adds_further_mixes() -> None:
    live = Recorder()([FINE_TUNED]).column(FINE_TUNED)
    measure = Recorder()
    extra = Mix.of({"embed": 0.1, "*": 0.5})
    record, table = compare_on_test(measure, ROLES, 0.5, known={FINE_TUNED: live}, also=[Mix.of(0.5), extra])
    assert measure.passes == [[ZERO_SHOT, Mix.of(0.5), extra]]  # once each, fine-tuned not at all
    assert table[FINE_TUNED] is live and extra in table
    assert record["tasks"]["new"]["fine_tuned"] == live.accuracy("new")


def test_compare_on_test_without_alpha_reports_the_references_only() -> None:
    measure = Recorder()
    record, _ = compare_on_test(measure, ROLES, None)
    assert measure.passes == [[ZERO_SHOT, FINE_TUNED]]
    assert record["alpha"] is None and all(row["patched"] is None for row in record["tasks"].values())


def test_mixes_on_test_measures_mixes_of_any_end_points_in_one_pass() -> None:
    measure = Recorder()
    mixes = [Mix.of(0.3, 0.6), Mix.of(1.0, 0.0)]
    rows = mixes_on_test(measure, ROLES, mixes)
    assert measure.passes == [mixes]
    for mix, row in zip(mixes, rows, strict=True):
        assert row["new"]["accuracy"] == pytest.approx(100.0 * _correct("new", mix) / TOTAL["new"])
    assert rows[0]["new"]["accuracy"] != rows[1]["new"]["accuracy"]
    assert rows[0]["old"]["role"] == "support" and rows[0]["old"]["stderr"] > 0
