"""The benchmark scripts still run against the current code (their figures are not checked here)."""

import logging
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(autouse=True)
def _benchmarks_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import their `common` module
    threads = torch.get_num_threads()
    loggers = {name: logging.getLogger(name) for name in ("lightning", "lightning.pytorch", "paint_lightning")}
    levels = {name: logger.level for name, logger in loggers.items()}
    yield
    torch.set_num_threads(threads)  # the scripts pin one thread and quieten logs for the whole process
    for name, logger in loggers.items():
        logger.setLevel(levels[name])


@pytest.mark.slow
def test_sweep_vs_limit_measures_something():
    import sweep_vs_limit

    result = sweep_vs_limit.run(reps=1)
    assert result.measured is not None and result.measured > 0, result.report()


@pytest.mark.slow
def test_sweep_memory_measures_something():
    import sweep_memory

    result = sweep_memory.run()
    assert result.measured is not None and result.measured > 0, result.report()


@pytest.mark.slow
def test_merge_memory_measures_flat_and_streamed():
    import merge_memory

    result = merge_memory.run("ViT-S-32", 2, ("ties",))
    assert result.measured is not None and result.measured > 0, result.report()
    assert "flat" in result.details["ties"] and "streamed" in result.details["ties"]
