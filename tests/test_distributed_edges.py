"""Two processes on edge cases: BatchNorm statistics pooled across processes, a held-out set
smaller than the number of processes (split from tests/test_distributed.py so that its tests
spread over pytest workers)."""

from __future__ import annotations

import json

import pytest

from tests.test_distributed import DDP, TINY, TINY_RESNET, _checkpoint, _paint, _reports, _sweep_view, _validate

pytestmark = pytest.mark.slow


def test_batchnorm_statistics_are_pooled_for_the_sweep_and_export_and_training_keeps_its_own(tmp_path) -> None:
    """Each DDP process updates BatchNorm statistics on its own batches. The sweep and the export use
    them pooled across processes (the pooled variance, not the mean of the variances), and so does
    the checkpoint taken after the sweep (a 1-process sweep of it reproduces the 2-process fit's);
    each process's live buffers are left as training made them. Odd held-out sets: unequal shards."""
    import torch

    from paint_lightning.callbacks.batchnorm import TRAINING_BUFFERS, pool_moments
    from paint_lightning.io.patched import load_patched
    from paint_lightning.models import PaintModule

    _paint(
        "fit",
        "--config",
        str(TINY_RESNET),
        *DDP,
        f"--trainer.default_root_dir={tmp_path / 'fit'}",
        "--sweep.final_test=false",
        "--data.heldout_max=45",
        "--trainer.callbacks+=tests.probes.BatchNormStatistics",
        f"--trainer.callbacks.directory={tmp_path / 'stats'}",
    )
    ranks = [json.loads(p.read_text()) for p in sorted((tmp_path / "stats").glob("rank*.json"))]
    assert len(ranks) == 2 and ranks[0]["trained"]
    for rank in ranks:
        assert rank["end"] == rank["trained"]  # the sweep and the export left the live buffers alone
    assert ranks[0]["trained"] != ranks[1]["trained"]  # the processes' own statistics differ: a real test
    checkpoint_path = _checkpoint(tmp_path / "fit")
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    for layer, stats in ranks[0]["trained"].items():
        key = f"clip.visual.{layer}"
        means = torch.tensor([r["trained"][layer]["mean"] for r in ranks], dtype=torch.float64)
        variances = torch.tensor([r["trained"][layer]["var"] for r in ranks], dtype=torch.float64)
        mean, variance = pool_moments(means, variances)
        assert torch.equal(checkpoint["state_dict"][f"{key}.running_mean"], mean.float())
        assert torch.equal(checkpoint["state_dict"][f"{key}.running_var"], variance.float())
        assert not torch.equal(variance.float(), variances.mean(0).float())
        assert checkpoint[TRAINING_BUFFERS][f"{key}.running_var"].tolist() == stats["var"]  # rank 0's, to resume
    exported, meta = load_patched(next((tmp_path / "fit").rglob("patched.safetensors")))
    expected = PaintModule.load_from_checkpoint(checkpoint_path, weights_only=True).patched_state_dict(meta["alpha"])
    assert exported.keys() == expected.keys()
    assert all(torch.equal(exported[key], expected[key]) for key in expected)  # the pooled statistics
    (fit,) = _reports(tmp_path / "fit")
    (validate,) = _validate(checkpoint_path, tmp_path, ["--data.heldout_max=45"], config=TINY_RESNET)
    assert _sweep_view(validate) == _sweep_view(fit)
    assert {name: task["num_examples"] for name, task in fit["tasks"].items()} == {"patches": 45, "other": 45}


def test_heldout_set_smaller_than_the_number_of_processes_does_not_hang(tmp_path) -> None:
    """With one held-out image and two processes, one process has nothing of that set."""
    _paint(
        "fit",
        "--config",
        str(TINY),
        *DDP,
        "--trainer.max_epochs=1",
        "--data.heldout_max=1",
        f"--trainer.default_root_dir={tmp_path / 'fit'}",
        timeout=180,
    )
    (report,) = _reports(tmp_path / "fit")
    assert {name: task["num_examples"] for name, task in report["tasks"].items()} == {"patches": 1, "other": 1}
    (validate,) = _validate(_checkpoint(tmp_path / "fit"), tmp_path, [*DDP, "--data.heldout_max=1"])
    assert _sweep_view(validate) == _sweep_view(report)
