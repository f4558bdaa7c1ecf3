"""benchmarks/scale.py and its probe: the phase figures mean what they say, and the script still runs."""

import re
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MIB = 2**20


@pytest.fixture(autouse=True)
def _benchmarks_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def test_a_phase_counts_what_it_allocates_and_not_what_came_before():
    from scale_probe import Phases

    phases = Phases()
    kept = torch.ones(48 * MIB // 4)  # resident before the phases: must not count in them
    with phases.phase("allocates"):
        transient = torch.ones(64 * MIB // 4)  # touched pages: resident
        del transient
    with phases.phase("idle"):
        pass
    figures = phases.summary()["phases"]
    allocates = figures["allocates"]["peak"] - figures["allocates"]["before"]
    idle = figures["idle"]["peak"] - figures["idle"]["before"]
    assert 60 * MIB <= allocates < 80 * MIB
    assert idle < 8 * MIB  # the 64 MiB were handed back and the peak reset
    assert figures["idle"]["before"] >= 48 * MIB
    del kept


def test_a_phase_seen_twice_keeps_the_call_that_added_most():
    from scale_probe import Phases

    phases = Phases()
    for size in (8, 40, 16):
        with phases.phase("test"):
            block = torch.ones(size * MIB // 4)
            del block
    figures = phases.summary()["phases"]["test"]
    assert 36 * MIB <= figures["peak"] - figures["before"] < 56 * MIB


def _rank(rank: int, tower: float, **extras: float) -> dict:
    phases = {p: {"before": 10 * tower, "peak": (10 + extras.get(p, 0.0)) * tower, "seconds": 1.0} for p in extras}
    return {"rank": rank, "tower": tower, "phases": phases}


def test_verdicts_take_the_worst_process_and_falling_fsdp_memory_is_strict():
    from scale import report, verdicts

    fit = {"fit": 3.0, "sweep": 1.5, "checkpoint": 0.5, "export": 0.8}
    results = {
        "ddp2": {"ranks": [_rank(0, 4.0, **fit), _rank(1, 4.0, **{**fit, "sweep": 1.9, "export": 0.05})], "seconds": 1},
        "fsdp2": {"ranks": [_rank(0, 4.0, **fit), _rank(1, 4.0, **{**fit, "export": 0.0})], "seconds": 1},
        "fsdp1": {"ranks": [_rank(0, 4.0, **fit)], "seconds": 1},
    }
    figures = verdicts(results)
    assert figures["sweep"] == pytest.approx(1.9) and figures["export_rank0"] == pytest.approx(0.8)
    assert figures["export_others"] == pytest.approx(0.05)
    assert figures["fsdp_ratio"] == pytest.approx(1.0)  # the same peak on 1 and 2 processes: not falling
    result = report("ViT-B-32", results, 4)
    assert result.status == "MISS" and result.details["target fsdp_ratio"] == "1.00 < 1 MISSED"
    results["fsdp2"]["ranks"] = [_rank(r, 4.0, **{**fit, "fit": 1.0}) for r in (0, 1)]
    results["fsdp2"]["ranks"][1]["phases"]["export"]["peak"] = 10 * 4.0
    result = report("ViT-B-32", results, 4)
    assert result.status == "OK" and result.name == "scale_b32"
    assert result.measured == pytest.approx(1.9 / 2.0)  # the worst target: the sweep's 1.9 of 2 towers
    assert re.fullmatch(
        r"rank 0: at start 10\.00, peak 13\.00; fit \+3\.00 .* 0 chunks swept; .* held-out images \(1 s\)",
        result.details["ddp2"],
    )


@pytest.mark.slow
def test_the_script_measures_a_tiny_fit_and_paint_parallel(tmp_path):
    from scale import measure, report

    results = measure("tiny", (("ddp", 1),), heldout=4, runs=2, root=tmp_path)
    (rank,) = results["ddp1"]["ranks"]
    assert set(rank["phases"]) == {"model", "fit", "sweep", "checkpoint", "export"}
    assert all(f["peak"] >= f["before"] > 0 for f in rank["phases"].values())
    assert rank["chunks"] >= 1  # the probe saw the sweep stage its held-out images
    assert results["ddp1"]["heldout"] == {"patches": 4, "other": 4}
    assert set(results["parallel"]["phases"]) >= {"load", "search", "test", "export"}
    result = report("tiny", results, 4)
    assert list(result.details)[:3] == ["set-up", "ddp1", "parallel"]
    assert result.name == "scale_tiny" and "target sweep" in result.details
