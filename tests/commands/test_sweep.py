import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from paint_lightning.commands.cli import main
from paint_lightning.io.clip_weights import load_clip_state_dict
from tests.run_fixtures import TINY_YAML, sweep_flags

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
    lines = EventAccumulator(str(out / "lines" / "curve_patches"), size_guidance={"scalars": 0}).Reload()
    curve = lines.Scalars("final_sweep/task_accuracy")
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


PATCHES = (
    "data:\n  patch:\n    - name: {name}\n      source:\n"
    "        class_path: paint_lightning.data.synthetic.ColourPatchSource\n"
    "        init_args: {{num_classes: 4, num_train: {train}, num_test: 31, seed: 1}}\n"
    "      templates: ['a photo of {{}}.']\n"
)


@pytest.mark.parametrize(
    ("extra", "messages"),
    [
        (
            ["--data.split_seed", "1"],
            ["data.split_seed: 0 in the checkpoint, 1 now", "--data.split_seed 0 --data.heldout_fraction 0.25"],
        ),
        (["--data.heldout_fraction", "0.5"], ["data.heldout_fraction: 0.25 in the checkpoint, 0.5 now"]),
        (["CONFIG", PATCHES.format(name="patches", train=64)], ["task 'patches': the train images or labels changed"]),
        (["CONFIG", PATCHES.format(name="colours", train=60)], ["task 'patches' is named 'colours' here"]),
    ],
    ids=["split_seed", "heldout_fraction", "task_data", "task_name"],
)
def test_sweep_refuses_a_run_made_from_other_data(tiny_run, zero_shot_file, tmp_path, capsys, extra, messages):
    if extra[0] == "CONFIG":
        (tmp_path / "data.yaml").write_text(extra[1])
        extra = ["--config", str(tmp_path / "data.yaml")]
    args = ["sweep", *sweep_flags(zero_shot_file), *extra, "--fine_tuned", str(tiny_run), "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"--fine_tuned='{tiny_run}' was made from other data" in err, err
    assert all(message in err for message in messages), err
    assert not (tmp_path / "o").exists()


def test_sweep_of_a_run_with_its_own_data_settings_works_and_a_state_dict_cannot_be_checked(
    tiny_run, zero_shot_file, tmp_path, capsys
):
    quick = ["--test", "false", "--export", "false"]
    main(["sweep", *sweep_flags(zero_shot_file), "--fine_tuned", str(tiny_run), "--out", str(tmp_path / "o"), *quick])
    ours = json.loads((tmp_path / "o" / "paint_report.json").read_text())
    assert ours["selected_alpha"] == json.loads((tiny_run / "paint_report.json").read_text())["selected_alpha"]
    assert "records no data provenance" not in capsys.readouterr().err
    torch.save(load_clip_state_dict(tiny_run / "patched.safetensors"), tmp_path / "ft.pt")
    main(
        [
            "sweep",
            *sweep_flags(zero_shot_file),
            "--fine_tuned",
            str(tmp_path / "ft.pt"),
            "--out",
            str(tmp_path / "p"),
            *quick,
        ]
    )
    assert f"--fine_tuned='{tmp_path / 'ft.pt'}' records no data provenance" in capsys.readouterr().err


def test_a_text_file_given_as_fine_tuned_is_named_as_such(zero_shot_file, tmp_path, capsys):
    notes = tmp_path / "weights.pt"
    notes.write_text("# where the weights are: s3://bucket/model.pt\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", *sweep_flags(zero_shot_file), "--fine_tuned", str(notes), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"--fine_tuned='{notes}'" in err and "not a weights file" in err
    assert "torch.save" in err and "safetensors" in err and "(text)" in err and "pickled" not in err
