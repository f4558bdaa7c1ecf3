import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from paint_lightning.cli import main
from paint_lightning.models.checkpoints import load_clip_state_dict
from tests.commands.conftest import TINY_YAML, sweep_flags

SAME = ("alphas", "selected_alpha", "objective", "objective_stderr", "tied_alphas", "patch_accuracy")
SAME += ("support_accuracy", "zero_shot", "fine_tuned", "test")


def test_sweep_on_two_checkpoints_reproduces_the_report_of_the_run_that_made_them(tiny_run, zero_shot_file, tmp_path):
    # The fine-tuned end as someone else's trainer would leave it: a torch state dict of the whole CLIP.
    main(["export", "--run", str(tiny_run), "--alpha", "1", "--out", str(tmp_path / "ft")])
    fine_tuned = tmp_path / "fine_tuned.pt"
    torch.save(load_clip_state_dict(tmp_path / "ft" / "patched.safetensors"), fine_tuned)
    out = tmp_path / "sweep"
    main(["sweep", *sweep_flags(zero_shot_file), "--fine_tuned", str(fine_tuned), "--out", str(out), "--device", "cpu"])
    ours = json.loads((out / "paint_report.json").read_text())
    run = json.loads((tiny_run / "paint_report.json").read_text())
    for key in SAME:
        assert ours[key] == run[key], key
    for name, task in run["tasks"].items():
        for key in ("role", "accuracy", "stderr", "num_examples", "zero_shot", "fine_tuned"):
            assert ours["tasks"][name][key] == task[key], (name, key)
    assert ours["selected_mix"] == run["selected_alpha"]
    assert (out / "patched.safetensors").read_bytes() == (tiny_run / "patched.safetensors").read_bytes()
    events = EventAccumulator(str(out), size_guidance={"images": 0, "scalars": 0}).Reload()
    assert {"paint/alpha_curves", "paint/tradeoff"} <= set(events.Tags()["images"])
    curve = events.Scalars("final_sweep/task/patches")
    assert [e.step for e in curve] == [0, 25, 50, 75, 100]
    assert [e.value for e in curve] == pytest.approx(run["tasks"]["patches"]["accuracy"])


def test_sweep_takes_the_zero_shot_file_from_the_flag_and_warns_about_a_changed_text_tower(
    zero_shot_file, tmp_path, capsys
):
    state = load_clip_state_dict(zero_shot_file)
    state["visual.proj"] = state["visual.proj"] * 1.5
    state["text_projection"] = state["text_projection"] * 2.0  # fine-tuned elsewhere with the text tower unfrozen
    fine_tuned = tmp_path / "ft.pt"
    torch.save(state, fine_tuned)
    flags = ["--config", TINY_YAML, "--model.clip.quick_gelu=true", f"--zero_shot={zero_shot_file}"]
    main(
        [
            "sweep",
            *flags,
            "--fine_tuned",
            str(fine_tuned),
            "--out",
            str(tmp_path / "o"),
            "--test",
            "false",
            "--export",
            "false",
        ]
    )
    err = capsys.readouterr().err
    assert "outside the image tower (1 tensors, e.g. text_projection)" in err
    assert "alpha* = " in err and not (tmp_path / "o" / "patched.safetensors").exists()


def test_sweep_refuses_another_architecture(zero_shot_file, tmp_path, capsys):
    torch.save({"conv1.weight": torch.zeros(3)}, tmp_path / "tower.pt")
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["sweep", *sweep_flags(zero_shot_file), "--fine_tuned", str(tmp_path / "tower.pt"), "--out", str(tmp_path)]
        )
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "does not match the model's architecture" in err and "Traceback" not in err
