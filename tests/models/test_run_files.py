import pytest
import torch

from paint_lightning.interpolation.mix import Mix
from paint_lightning.models.run_files import find_checkpoint, read_checkpoint, recorded_provenance, selected_mix


def _checkpoint(history: list[dict]) -> dict:
    return {"callbacks": {"InterpolationSweep": {"history": history}}}


def test_selected_mix_prefers_the_report_then_the_latest_sweep_of_the_checkpoint() -> None:
    checkpoint = _checkpoint([{"selected_alpha": 0.2}, {"selected_alpha": 0.6}])
    assert selected_mix({"selected_alpha": 0.3}, checkpoint) == Mix.of(0.3)
    assert selected_mix(None, checkpoint) == Mix.of(0.6)
    assert selected_mix({}, checkpoint) == Mix.of(0.6)  # an empty report counts as none


def test_selected_mix_reads_a_per_block_mix_before_alpha() -> None:
    report = {"selected_alpha": 0.5, "selected_mix": [{"embed": 0.1, "*": 0.5}]}
    assert selected_mix(report) == Mix.of({"embed": 0.1, "*": 0.5})
    assert selected_mix({"selected_alpha": 0.5, "selected_mix": None}) == Mix.of(0.5)


def test_selected_mix_is_none_for_a_run_that_never_swept() -> None:
    assert selected_mix(None) is None
    assert selected_mix({"selected_alpha": None}, _checkpoint([])) is None


def test_find_checkpoint_prefers_last_then_the_highest_step(tmp_path) -> None:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in ("epoch=0-step=9.ckpt", "epoch=1-step=12.ckpt", "epoch=2-step=3.ckpt"):
        (folder / name).write_bytes(b"")
    assert find_checkpoint(tmp_path).name == "epoch=1-step=12.ckpt"
    (folder / "last.ckpt").write_bytes(b"")
    assert find_checkpoint(tmp_path).name == "last.ckpt"


def test_find_checkpoint_names_the_flag_for_missing_runs(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"--fine_tuned=.*no such run"):
        find_checkpoint(tmp_path / "nowhere", "--fine_tuned")
    with pytest.raises(FileNotFoundError, match="holds no Lightning checkpoint"):
        find_checkpoint(tmp_path)


def test_read_checkpoint_calls_a_damaged_file_damaged(tmp_path) -> None:
    path = tmp_path / "broken.ckpt"
    path.write_bytes(b"\x80\x02not a checkpoint at all")
    with pytest.raises(ValueError, match=r"--run: cannot read .*broken.ckpt.*is it damaged\?"):
        read_checkpoint(path)


def test_read_checkpoint_refuses_a_plain_state_dict(tmp_path) -> None:
    path = tmp_path / "plain.ckpt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match=r"not a checkpoint of a `paint fit` run.*--clip.pretrained"):
        read_checkpoint(path)


def test_recorded_provenance_is_the_datamodule_state() -> None:
    checkpoint = {"state_dict": {}, "PaintDataModule": {"provenance": {"seed": 3}}}
    assert recorded_provenance(checkpoint) == {"seed": 3}
    assert recorded_provenance({"state_dict": {}}) is None
