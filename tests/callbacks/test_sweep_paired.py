"""The fit's sweeps carry the paired statistics; the last one compares every alpha image by image."""

import json
import logging
from pathlib import Path

from paint_lightning.callbacks import InterpolationSweep
from tests.callbacks.helpers import fit_tiny


def test_the_last_sweep_of_a_fit_pairs_every_alpha_and_logs_the_size_needed(tmp_path, caplog) -> None:
    # Every sweep a full one, every epoch (live sweeps are partial and timed by default).
    sweep = InterpolationSweep(
        alphas=[0.0, 0.5, 1.0], max_fraction=None, intermediate="full", final_test=False, export=False
    )
    with caplog.at_level(logging.INFO):
        trainer, _, _ = fit_tiny(tmp_path, [sweep], epochs=3)
    first, middle, last = sweep.history
    assert first["unpaired_alphas"] == []  # the zero-shot is measured in the first sweep's pass
    # In between, the zero-shot's counts are reused (measured once per run): compared as independent.
    assert middle["unpaired_alphas"] == ([0.0] if middle["selected_alpha"] != 0.0 else [0.5, 1.0])
    assert last["unpaired_alphas"] == []
    report = json.loads((Path(trainer.log_dir) / "paint_report.json").read_text())
    required = report["required_heldout"]
    assert required["now"] == min(task["num_examples"] for task in report["tasks"].values())
    assert [n["alpha"] for n in required["neighbours"]] == [
        a for a in (0.0, 0.5, 1.0) if abs(a - report["selected_alpha"]) == 0.5
    ]
    assert report["alpha_interval"] == [min(report["tied_alphas"]), max(report["tied_alphas"])]
    lines = [r.getMessage() for r in caplog.records]
    needed = [m for m in lines if "from its grid neighbours" in m or "scores the same as alpha*" in m]
    assert len(needed) == 3  # one line per sweep
