"""Under DDP only rank 0, which writes the export, copies the model's state to host memory."""

from __future__ import annotations

import json

import pytest
import torch

from paint_lightning.engine.mixed_state import state_at_mix
from paint_lightning.interpolation.mix import Mix
from paint_lightning.io.patched import load_patched
from paint_lightning.models import PaintModule
from tests.engine.test_mixed_state import Toy
from tests.test_distributed import DDP, TINY, _checkpoint, _paint


def test_a_process_that_keeps_nothing_reads_nothing_of_an_unsharded_model() -> None:
    """Under DDP the other ranks hold replicas and write nothing: no read, no copy, no backup. (A sharded
    model's gather is collective: every rank reads it, see tests/test_fsdp.py.)"""
    model = Toy()
    seen = []

    def gathered() -> dict[str, torch.Tensor]:
        seen.append(1)
        return {"tower.0.weight": model.tower[0].weight}

    assert state_at_mix(model, Mix.of(0.0), state_dict=gathered, keep=False) == {} and seen == []
    assert state_at_mix(model, Mix.of(0.0), state_dict=gathered)["tower.0.weight"].device.type == "cpu"


@pytest.mark.slow
def test_only_rank_zero_copies_the_state_at_export_and_the_export_is_unchanged(tmp_path) -> None:
    """Odd held-out (15, 11 -> 8 + 7, 6 + 5) and test sets: the ranks' shards differ in size."""
    _paint(
        "fit",
        "--config",
        str(TINY),
        *DDP,
        "--trainer.max_epochs=1",
        f"--trainer.default_root_dir={tmp_path / 'fit'}",
        "--trainer.callbacks+=tests.callbacks.process_probes.ExportCopies",
        f"--trainer.callbacks.directory={tmp_path / 'copies'}",
    )
    zero, one = (json.loads((tmp_path / "copies" / f"rank{rank}.json").read_text()) for rank in (0, 1))
    assert len(zero["calls"]) == len(one["calls"]) == 1  # every rank takes part in the (collective) export
    # rank 0: what the export writes (the CLIP model), not the start point's tower
    assert zero["calls"] == [zero["exported_bytes"]] and 0 < zero["exported_bytes"] < zero["state_bytes"]
    assert one["calls"] == [0]  # rank 1 keeps no host copy
    exported, meta = load_patched(next((tmp_path / "fit").rglob("patched.safetensors")))
    module = PaintModule.load_from_checkpoint(_checkpoint(tmp_path / "fit"), weights_only=True)
    expected = module.patched_state_dict(meta["alpha"])
    assert exported.keys() == expected.keys()
    assert all(torch.equal(exported[key], expected[key]) for key in expected)
