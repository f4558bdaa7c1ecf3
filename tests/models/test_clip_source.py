from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import paint_lightning
from paint_lightning.io.clip_weights import load_clip_state_dict, save_compact_clip, stored_model_cfg
from paint_lightning.models.clip_source import CLIPSource, build_clip


def test_inline_config_builds_open_clip_model(tiny_config) -> None:
    built = build_clip(CLIPSource(config=tiny_config))
    assert type(built.model).__name__ == "CLIP"
    assert built.preprocess_cfg["size"] == (16, 16)
    image = torch.zeros(1, 3, 16, 16)
    assert built.model.encode_image(image).shape == (1, 16)


def test_unknown_model_name_suggests_close_names() -> None:
    with pytest.raises(ValueError, match=r"ViT-B-23.*Did you mean.*ViT-B-32"):
        build_clip(CLIPSource(name="ViT-B-23", pretrained="openai"))


def test_unknown_pretrained_tag_lists_tags() -> None:
    with pytest.raises(ValueError, match=r"'opnai' is not a pretrained tag of ViT-B-32.*Did you mean openai"):
        build_clip(CLIPSource(name="ViT-B-32", pretrained="opnai"))


def test_missing_checkpoint_file_is_named(tmp_path) -> None:
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(ValueError, match=r"model.clip.pretrained=.*nope.safetensors.*not found"):
        build_clip(CLIPSource(name="ViT-B-32", pretrained=str(missing)), "model.clip")


def test_empty_source_says_what_to_set() -> None:
    with pytest.raises(ValueError, match=r"Set `model.clip.name`"):
        build_clip(CLIPSource(), "model.clip")


def test_corrupted_checkpoint_is_refused(tiny_config, tmp_path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"cannot read safetensors"):
        build_clip(CLIPSource(config=tiny_config, pretrained=str(bad)))
    pickled = tmp_path / "bad.pt"
    torch.save({"model": torch.nn.Linear(2, 2)}, pickled)
    with pytest.raises(ValueError, match=r"never unpickled"):
        build_clip(CLIPSource(config=tiny_config, pretrained=str(pickled)))


def test_checkpoint_for_another_architecture_names_keys(tiny_config, tmp_path) -> None:
    other = dict(tiny_config, vision_cfg=dict(tiny_config["vision_cfg"], width=64))
    state = build_clip(CLIPSource(config=other)).model.state_dict()
    path = tmp_path / "other.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    with pytest.raises(ValueError, match=r"another architecture.*shape mismatches.*visual"):
        build_clip(CLIPSource(config=tiny_config, pretrained=str(path)))


def test_local_checkpoint_loads_weights(tiny_config, tmp_path) -> None:
    torch.manual_seed(1)
    source_model = build_clip(CLIPSource(config=tiny_config)).model
    path = tmp_path / "w.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source_model.state_dict().items()}}, path)
    torch.manual_seed(2)
    loaded = build_clip(CLIPSource(config=tiny_config, pretrained=str(path))).model
    for key, value in source_model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key


def test_compact_checkpoint_round_trip_describes_itself(tiny_config, tmp_path) -> None:
    torch.manual_seed(3)
    model = build_clip(CLIPSource(config=tiny_config)).model
    path = tmp_path / "compact.safetensors"
    keep = [49406, 49407, 320, 1929]
    save_compact_clip(model.state_dict(), path, tiny_config, keep, {"recipe": "test"})
    assert stored_model_cfg(path) == tiny_config
    state = load_clip_state_dict(path)
    table = state["token_embedding.weight"]
    assert table.shape == model.token_embedding.weight.shape and table.dtype == torch.float32
    torch.testing.assert_close(table[keep], model.token_embedding.weight[keep].half().float())
    assert table[0].abs().sum() == 0
    rebuilt = build_clip(CLIPSource(pretrained=str(path))).model  # config comes from the file
    torch.testing.assert_close(rebuilt.visual.conv1.weight, model.visual.conv1.weight.half().float())


def test_shipped_checkpoint_is_found_from_any_working_directory(tmp_path, monkeypatch) -> None:
    shipped = "paint_lightning/world/assets/world_clip.safetensors"
    monkeypatch.chdir(tmp_path)  # the relative name does not exist here
    built = build_clip(CLIPSource(pretrained=shipped))
    reference = load_clip_state_dict(Path(paint_lightning.__file__).parent / "world/assets/world_clip.safetensors")
    assert torch.equal(built.model.state_dict()["visual.conv1.weight"], reference["visual.conv1.weight"].float())
    with pytest.raises(ValueError, match="checkpoint file not found"):
        build_clip(CLIPSource(pretrained="paint_lightning/world/assets/missing.safetensors"))


def test_name_and_inline_config_together_are_refused(tiny_config) -> None:
    with pytest.raises(ValueError, match=r"model\.clip\.name='ViT-B-32' and model\.clip\.config both say"):
        build_clip(CLIPSource(name="ViT-B-32", config=tiny_config), "model.clip")
