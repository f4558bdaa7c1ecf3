"""The pretraining recipe at reduced scale, and ensure_world_checkpoint."""

import threading
from pathlib import Path

import open_clip
import pytest
import torch
import yaml

from paint_lightning.commands import pretrain
from paint_lightning.io.clip_weights import load_clip_state_dict, read_metadata, stored_model_cfg
from paint_lightning.world.pretraining import multi_positive_clip_loss
from paint_lightning.world.tokens import token_ids, tokenizer, world_prompts

TINY = Path(__file__).parents[1] / "conf" / "world_pretrain_tiny.yaml"
RECIPE = Path(__file__).parents[2] / "configs" / "world" / "pretrain.yaml"


def _load(path):
    model = open_clip.CLIP(**stored_model_cfg(path))
    model.load_state_dict(load_clip_state_dict(path), strict=True)
    return model


def test_tiny_recipe_writes_a_loadable_compact_checkpoint(tmp_path):
    out = tmp_path / "world.safetensors"
    pretrain.pretrain_main(["--config", str(TINY), "--export.path", str(out)])
    model = _load(out)
    assert model.context_length == 16
    meta = read_metadata(out)
    assert meta["global_step"] == "3"
    # Every prompt of every world task is embedded (kept rows are non-zero after loading).
    ids = sorted(token_ids(world_prompts(), 16))
    assert model.token_embedding.weight[ids].abs().sum(1).gt(0).all()
    with torch.no_grad():
        text = model.encode_text(tokenizer(16)(["a red circle", "the number 3"]))
        image = model.encode_image(torch.zeros(2, 3, 32, 32))
    assert text.shape == image.shape == (2, 16)


def test_recipe_is_deterministic(tmp_path):
    paths = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    for path in paths:
        pretrain.pretrain_main(["--config", str(TINY), "--export.path", str(path)])
    first, second = (load_clip_state_dict(p) for p in paths)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_shipped_recipe_matches_the_tiny_twin_in_structure():
    recipe, tiny = (yaml.safe_load(p.read_text()) for p in (RECIPE, TINY))
    assert set(tiny) <= set(recipe) | {"export"}
    assert set(tiny["model"]["model_cfg"]) == set(recipe["model"]["model_cfg"])
    ctx = recipe["model"]["model_cfg"]["text_cfg"]["context_length"]
    assert recipe["data"]["context_length"] == ctx


def test_context_length_mismatch_is_reported(tmp_path):
    with pytest.raises(ValueError, match="context_length"):
        pretrain.pretrain_main(
            ["--config", str(TINY), "--data.context_length", "12", "--export.path", str(tmp_path / "x")]
        )


def test_multi_positive_loss_equals_clip_loss_without_duplicates():
    torch.manual_seed(0)
    image = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
    text = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
    tokens = torch.arange(6)[:, None].repeat(1, 4)
    scale = torch.tensor(10.0)
    expected = open_clip.ClipLoss()(image, text, scale)
    assert torch.allclose(multi_positive_clip_loss(image, text, tokens, scale), expected)
    tokens[1] = tokens[0]  # a duplicate caption: no longer a negative of its twin
    assert not torch.allclose(multi_positive_clip_loss(image, text, tokens, scale), expected)


def test_ensure_builds_when_missing_and_reuses_when_present(tmp_path, monkeypatch):
    out = tmp_path / "ckpt" / "world.safetensors"
    calls = []
    real = pretrain.run_recipe

    def counting(recipe, output):
        calls.append(output)
        real(recipe, output)

    monkeypatch.setattr(pretrain, "run_recipe", counting)
    assert pretrain.ensure_world_checkpoint(str(out), str(TINY)) == out
    assert out.is_file() and len(calls) == 1
    stamp = out.stat().st_mtime_ns
    assert pretrain.ensure_world_checkpoint(str(out), str(TINY)) == out
    assert len(calls) == 1 and out.stat().st_mtime_ns == stamp
    _load(out)


def test_ensure_builds_once_under_concurrent_calls(tmp_path, monkeypatch):
    out = tmp_path / "world.safetensors"
    calls = []

    def fake(recipe, output):
        calls.append(output)
        Path(output).write_bytes(b"weights")

    monkeypatch.setattr(pretrain, "run_recipe", fake)
    threads = [threading.Thread(target=pretrain.ensure_world_checkpoint, args=(str(out), str(TINY))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1


def test_ensure_names_a_missing_recipe(tmp_path):
    with pytest.raises(FileNotFoundError, match="recipe"):
        pretrain.ensure_world_checkpoint(str(tmp_path / "w.safetensors"), str(tmp_path / "none.yaml"))


def test_ensure_expands_the_home_folder_and_names_the_recipes_time(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HOME", str(tmp_path))
    written = []

    def fake(recipe, output):
        written.append(output)
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_bytes(b"weights")

    monkeypatch.setattr(pretrain, "run_recipe", fake)
    recipe = tmp_path / "pretrain_wide.yaml"
    recipe.write_text(TINY.read_text())
    with caplog.at_level("WARNING"):
        out = pretrain.ensure_world_checkpoint("~/cache/world.safetensors", str(recipe))
    assert out == written[0] == tmp_path / "cache/world.safetensors"  # no folder literally named "~"
    minutes = pretrain.RECIPE_MINUTES_ON_2_CORES["pretrain_wide.yaml"]
    assert f"about {minutes} minutes" in caplog.text and minutes != pretrain.RECIPE_MINUTES_ON_2_CORES["pretrain.yaml"]
    caplog.clear()
    other = tmp_path / "mine.yaml"
    other.write_text(TINY.read_text())
    with caplog.at_level("WARNING"):
        pretrain.ensure_world_checkpoint(str(tmp_path / "w2.safetensors"), str(other))
    announced = next(r.getMessage() for r in caplog.records if "No world checkpoint" in r.getMessage())
    assert "minutes" not in announced  # no time claimed for an unknown recipe


def test_the_export_path_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    out = tmp_path / "deep" / "world.safetensors"
    pretrain.pretrain_main(["--config", str(TINY), "--export.path", "~/deep/world.safetensors"])
    assert out.is_file() and not (Path.cwd() / "~").exists()
    _load(out)
