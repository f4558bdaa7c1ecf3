import json

import open_clip
import pytest
import torch
import torch.nn.functional as F
from open_clip.transformer import QuickGELU

from paint_lightning.commands.cli import main
from paint_lightning.interpolation.mix import Mix
from paint_lightning.io.patched import load_patched
from paint_lightning.models.clip_source import CLIPSource, build_clip
from paint_lightning.models.run_loading import load_run
from tests.run_fixtures import MEAN


def test_export_loads_with_plain_open_clip_and_gives_identical_logits(tiny_run, tmp_path, capsys):
    out = tmp_path / "shipped"
    main(["export", "--run", str(tiny_run), "--alpha", "0.25", "--out", str(out)])
    assert f"local-dir:{out}" in capsys.readouterr().out
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{out}")
    model.eval()
    gelu = model.visual.transformer.resblocks[0].mlp.gelu
    assert isinstance(gelu, QuickGELU)  # the activation the weights were trained with
    assert list(preprocess.transforms[-1].mean) == pytest.approx(MEAN)  # the run's own preprocessing
    run = load_run(tiny_run)
    module = run.module
    live, start = module.patch_towers()
    from paint_lightning.interpolation.combine import InPlaceCombiner, tower_tensors

    images = torch.rand(5, 3, 16, 16)
    with torch.no_grad(), InPlaceCombiner(tower_tensors(live), tower_tensors(start)) as combiner:
        combiner.set(Mix.of(0.25))
        ours = module(images, "patches")
        theirs = F.normalize(model.encode_image(images), dim=-1) @ module.heads["patches"].t()
    torch.testing.assert_close(theirs, ours, rtol=0, atol=0)
    tokens = open_clip.get_tokenizer(f"local-dir:{out}")(["a photo of class 0."])
    torch.testing.assert_close(model.encode_text(tokens), module.clip.encode_text(tokens), rtol=0, atol=0)


def test_export_metadata_sha_and_per_block_mix(tiny_run, tmp_path):
    out = tmp_path / "blocks"
    main(["export", "--run", str(tiny_run), "--mix", '{"embed": 0.0, "*": 1.0}', "--out", str(out)])
    state, meta = load_patched(out)  # checks the SHA-256
    assert meta["mix"] == [{"*": 1.0, "embed": 0.0}] and meta["made_by"] == "paint export"
    assert meta["model_cfg"]["quick_gelu"] is True and len(meta["sha256"]) == 64
    run = load_run(tiny_run)
    live, start = (t.state_dict() for t in run.module.patch_towers())
    assert torch.equal(state["visual.conv1.weight"], start["conv1.weight"])  # embed: zero-shot
    block = "transformer.resblocks.0.mlp.c_fc.weight"
    assert torch.equal(state[f"visual.{block}"], live[block]) and not torch.equal(live[block], start[block])


def test_export_defaults_to_alpha_star_and_is_a_start_point(tiny_run, tmp_path):
    out = tmp_path / "star"
    main(["export", "--run", str(tiny_run), "--out", str(out)])
    report = json.loads((tiny_run / "paint_report.json").read_text())
    meta = json.loads((out / "patched.json").read_text())
    assert meta["alpha"] == report["selected_alpha"] and meta["tasks"]["patches"]["test_accuracy"] is not None
    assert (out / "patched.safetensors").read_bytes() == (tiny_run / "patched.safetensors").read_bytes()
    built = build_clip(CLIPSource(pretrained=str(out / "patched.safetensors")))  # a further patch starts here
    assert built.model_cfg["quick_gelu"] is True
    state, _ = load_patched(out)
    assert all(torch.equal(built.model.state_dict()[k], v) for k, v in state.items())


def test_export_refuses_a_folder_holding_an_export(tiny_run, tmp_path, capsys):
    out = tmp_path / "twice"
    main(["export", "--run", str(tiny_run), "--out", str(out)])
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--run", str(tiny_run), "--out", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "already holds an export" in err and "Traceback" not in err
    main(["export", "--run", str(tiny_run), "--out", str(out), "--overwrite", "true", "--alpha", "0"])
    assert json.loads((out / "patched.json").read_text())["alpha"] == 0.0


def test_export_of_a_damaged_checkpoint_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--run", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "cannot read" in err and len(err.strip().splitlines()) == 1


def test_an_older_checkpoint_of_a_run_uses_its_own_sweep_not_the_final_report(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (final,) = (run / "checkpoints").glob("*.ckpt")
    older = torch.load(final, weights_only=True)
    older["global_step"] = 2
    last = older["callbacks"]["InterpolationSweep"]["history"][-1]
    last["selected_alpha"], last["selected_mix"] = 0.75, 0.75
    torch.save(older, run / "checkpoints" / "epoch=0-step=2.ckpt")
    assert load_run(run / "checkpoints" / "epoch=0-step=2.ckpt").selected == Mix.of(0.75)
    report = json.loads((run / "paint_report.json").read_text())
    loaded = load_run(run)  # the folder: its latest checkpoint, described by the report
    assert loaded.checkpoint == final and loaded.selected == Mix.of(report["selected_alpha"])
    assert loaded.report is not None


@pytest.mark.parametrize("command", ["export", "predict"])
@pytest.mark.parametrize(
    ("flag", "value"), [("--alpha", "1.5"), ("--alpha", "-0.1"), ("--mix", '{"embed": 0.2, "*": 1.5}')]
)
def test_alphas_outside_0_1_need_allow_extrapolation_before_the_run_is_read(command, flag, value, tmp_path, capsys):
    missing = str(tmp_path / "no_run")  # never read: the value is refused first
    rest = (
        ["--out", str(tmp_path / "o")] if command == "export" else ["--images", str(tmp_path), "--classnames", "a", "b"]
    )
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--run", missing, flag, value, *rest])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"{flag}=" in err and "outside [0, 1]" in err
    assert "--allow_extrapolation" in err and "no_run" not in err


def test_export_and_predict_extrapolate_when_asked_and_record_it(tiny_run, images, tmp_path, capsys):
    out = tmp_path / "beyond"
    with pytest.raises(SystemExit):  # silently written as `mix: 1.5` before
        main(["export", "--run", str(tiny_run), "--alpha", "1.5", "--out", str(out)])
    assert "--alpha=1.5: 1.5 outside [0, 1]" in capsys.readouterr().err and not out.exists()
    main(["export", "--run", str(tiny_run), "--alpha", "1.5", "--allow_extrapolation", "true", "--out", str(out)])
    meta = json.loads((out / "patched.json").read_text())
    assert meta["mix"] == 1.5 and meta["allow_extrapolation"] is True
    capsys.readouterr()
    extrapolated = ["--alpha", "-0.1", "--allow_extrapolation", "true"]
    main(["predict", "--run", str(tiny_run), *extrapolated, "--images", str(images), "--classnames", "a", "b"])
    captured = capsys.readouterr()
    assert "at mix -0.1 (extrapolated: outside [0, 1])" in captured.err and len(captured.out.splitlines()) == 5
