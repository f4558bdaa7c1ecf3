import json
import shutil

import pytest
import torch

from paint_lightning.engine.protocol import patch_tensors
from paint_lightning.interpolation.mix import Mix
from paint_lightning.models.run_files import find_checkpoint
from paint_lightning.models.run_loading import REPORT, load_run


def test_load_run_gives_both_end_points_the_report_and_the_chosen_mix(tiny_run) -> None:
    run = load_run(tiny_run)
    report = json.loads((tiny_run / REPORT).read_text())
    assert run.checkpoint == find_checkpoint(tiny_run)
    assert run.report == report and run.selected == Mix.of(report["selected_alpha"])
    assert run.provenance is not None and not run.module.training
    live, start = patch_tensors(run.module)
    assert live.keys() == start.keys()
    assert any(not torch.equal(live[k], start[k]) for k in live)  # fine-tuned differs from zero-shot
    saved = torch.load(run.checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    assert all(torch.equal(saved[f"clip.visual.{k}"], v) for k, v in live.items())


def test_a_report_of_another_checkpoint_is_not_used(tiny_run, tmp_path) -> None:
    copy = tmp_path / "version_0"
    shutil.copytree(tiny_run, copy)
    report = json.loads((copy / REPORT).read_text())
    (copy / REPORT).write_text(json.dumps({**report, "global_step": -1, "selected_alpha": 0.123}))
    run = load_run(copy)
    assert run.report is None
    assert run.selected == Mix.of(report["selected_alpha"])  # the checkpoint's own sweep history


def test_a_damaged_checkpoint_gives_an_actionable_error(tmp_path) -> None:
    broken = tmp_path / "version_3" / "checkpoints"
    broken.mkdir(parents=True)
    (broken / "last.ckpt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match=r"--runs\[1\]: cannot read .*last.ckpt .*is it damaged\?"):
        load_run(tmp_path / "version_3", field="--runs[1]")


def test_a_missing_run_names_the_flag_and_what_to_give(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"--run='.*nowhere': no such run directory"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"give the version_N folder .*--clip.pretrained"):
        load_run(tmp_path / "empty")
