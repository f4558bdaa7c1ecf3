"""docs/fine_grained_efficiency.py: the oracle's choice, the efficiency and the table (docs/fine-grained.md)."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture()
def script(monkeypatch):
    monkeypatch.syspath_prepend(str(DOCS))
    import fine_grained_efficiency

    yield fine_grained_efficiency
    sys.modules.pop("fine_grained_efficiency", None)


def test_the_oracle_is_the_best_patch_within_the_limit_ties_to_the_smaller_drop(script) -> None:
    rows = [
        {"mix": 0.3, "patch": 70.0, "drop": 1.0},
        {"mix": 0.5, "patch": 90.0, "drop": 1.51},  # over the limit: never the oracle
        {"mix": 0.4, "patch": 80.0, "drop": 1.5},  # at the limit: allowed
        {"mix": 0.45, "patch": 80.0, "drop": 1.2},  # the same patch, less support spent
    ]
    assert script.best_within(rows, 1.5)["mix"] == 0.45
    assert script.best_within(rows, 2.0)["mix"] == 0.5
    with pytest.raises(SystemExit, match=r"no mix within a support drop of 0\.5"):
        script.best_within(rows, 0.5)


def test_efficiency_is_the_share_of_the_oracles_gain_over_zero_shot(script) -> None:
    assert script.efficiency(80.0, 90.0, 40.0) == pytest.approx(0.8)
    assert script.efficiency(95.0, 90.0, 40.0) == pytest.approx(1.1)  # a chosen mix over the limit can beat it


def test_report_numbers_read_a_test_column(script) -> None:
    tasks = {
        "digits": {"role": "patch", "zero_shot": 40.0, "patched": 80.0, "global": 80.0, "per_block": 85.0},
        "shapes": {"role": "support", "zero_shot": 90.0, "patched": 88.0, "global": 88.0, "per_block": 87.0},
        "counts": {"role": "support", "zero_shot": 70.0, "patched": 71.0, "global": 71.0, "per_block": 70.0},
    }
    assert script.report_numbers(tasks, "patched") == pytest.approx({"patch": 80.0, "zero_shot": 40.0, "drop": 0.5})
    assert script.report_numbers(tasks, "per_block") == pytest.approx({"patch": 85.0, "zero_shot": 40.0, "drop": 1.5})


def test_the_search_spaces(script) -> None:
    grid = script.alpha_grid(0.05)
    assert [m.alpha for m in grid] == pytest.approx([i / 20 for i in range(21)])
    groups = ["embed", "block.0", "block.1", "head"]
    family = script.lines_family(groups, 0.05, [0.0, 0.5, 1.0])  # slopes -1, -0.5, 0.5, 1 (0 is the grid's)
    schedules = [dict(m.terms[0]) for m in family]
    assert all(0.0 <= v <= 1.0 for s in schedules for v in s.values())
    assert all(len(set(s.values())) > 1 for s in schedules)
    assert {"embed": 0.25, "block.0": 0.416667, "block.1": 0.583333, "head": 0.75} in schedules  # level 0.5, slope 0.5
    assert {"embed": 0.0, "block.0": 0.333333, "block.1": 0.666667, "head": 1.0} in schedules  # level 0.5, slope 1
    assert len(schedules) == 11 + 11 + 1 + 1  # levels 0.25 ... 0.75 for slopes +-0.5, level 0.5 for +-1


def test_test_only_keeps_the_test_batches_and_reindexes_them(script, tmp_path) -> None:
    batch = lambda task, n: (task, torch.zeros(n, 1), torch.arange(n))  # noqa: E731
    pred = SimpleNamespace(
        roles={"a": "patch", "b": "support"},
        index={
            ("heldout", "a"): torch.arange(0, 3),
            ("heldout", "b"): torch.arange(3, 5),
            ("test", "a"): torch.arange(5, 9),
            ("test", "b"): torch.arange(9, 10),
        },
        batches=[batch("a", 3), batch("b", 2), batch("a", 4), batch("b", 1)],
    )
    out = script.test_only(pred, tmp_path / "cache.pt")
    assert [(t, len(labels)) for t, _, labels in out.batches] == [("a", 4), ("b", 1)]
    assert out.index.keys() == {("test", "a"), ("test", "b")}
    assert out.index[("test", "a")].tolist() == [0, 1, 2, 3] and out.index[("test", "b")].tolist() == [4]
    assert out.cache == {} and out.path == tmp_path / "cache.pt"


def _result(seed: int, gain: float, drop: float, won: bool) -> dict:
    chosen = {"patch": 40.0 + gain, "zero_shot": 40.0, "drop": drop}
    mix = [{"embed": 0.3, "block.0": 0.4, "head": 0.5}] if won else 0.4
    return {
        "seed": seed,
        "limit": 1.5,
        "zero_shot": 40.0,
        "global": {"chosen": 0.4, "test": chosen, "oracle": {"mix": 0.45, "patch": 80.0, "drop": 1.4}},
        "per_block": {"chosen": mix, "won": won, "test": chosen, "oracle": {"mix": mix, "patch": 80.0, "drop": 1.4}},
    }


def test_the_table_gives_each_seed_the_mean_and_both_verdicts(script) -> None:
    results = [_result(0, 40.0, 1.4, True), _result(1, 32.0, 2.1, False)]
    for r in results:
        for kind in ("global", "per_block"):
            r[kind]["efficiency"] = script.efficiency(r[kind]["test"]["patch"], 80.0, 40.0)
    lines = script.table("defaults", results)
    assert lines[0] == "| defaults | global | 0 | 0.4 | +40.00 | 1.40 | 0.45 | +40.00 | 1.40 | 1.000 |"
    assert lines[3].startswith("| defaults | per_block | 0 | 0.3..0.5 (won) | +40.00 |")
    assert lines[4].startswith("| defaults | per_block | 1 | 0.4 (alpha* kept) | +32.00 | 2.10 |")
    assert lines[2].endswith("**0.900** (mean >= 0.9; worst drop 2.10 > 2) |")


def test_main_prints_the_table_from_earlier_outputs(script, tmp_path, monkeypatch, capsys) -> None:
    results = {"run0": _result(0, 40.0, 1.4, True), "run1": _result(1, 20.0, 1.0, False)}
    for r in results.values():
        for kind in ("global", "per_block"):
            r[kind]["efficiency"] = script.efficiency(r[kind]["test"]["patch"], 80.0, 40.0)
    (tmp_path / "eff.json").write_text(json.dumps(results))
    monkeypatch.setattr(sys, "argv", ["fine_grained_efficiency.py", str(tmp_path / "eff.json"), "--label", "big"])
    script.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| held-out | kind | seed | chosen |") and len(lines) == 2 + 2 * 3
    assert lines[4] == "| big | global | mean | | | | | | | **0.750** (mean < 0.9; worst drop 1.40 <= 2) |"
    monkeypatch.setattr(sys, "argv", ["fine_grained_efficiency.py", str(tmp_path)])
    with pytest.raises(SystemExit):
        script.main()  # a run directory needs --out
