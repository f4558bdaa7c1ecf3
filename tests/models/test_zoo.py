"""QuickGELU: the activation a model's weights were trained with, from the tag, the file or the user."""

import json

import open_clip
import pytest
import torch
from open_clip.transformer import QuickGELU
from torch import nn

from paint_lightning.io.files import save_safetensors
from paint_lightning.models.clip_source import CLIPSource, build_clip


def _activations(model: nn.Module) -> set[str]:
    return {type(m).__name__ for m in model.modules() if isinstance(m, (nn.GELU, QuickGELU))}


def test_openai_tag_builds_quick_gelu_and_records_it(fake_zoo_download) -> None:
    fake_zoo_download("ViT-B-32", "openai")
    built = build_clip(CLIPSource(name="ViT-B-32", pretrained="openai"))
    assert _activations(built.model) == {"QuickGELU"}
    assert built.model_cfg["quick_gelu"] is True
    # what an export records rebuilds the same activation
    assert _activations(open_clip.CLIP(**built.model_cfg)) == {"QuickGELU"}


def test_gelu_tag_stays_gelu(fake_zoo_download) -> None:
    fake_zoo_download("ViT-B-32", "laion2b_s34b_b79k")
    built = build_clip(CLIPSource(name="ViT-B-32", pretrained="laion2b_s34b_b79k"))
    assert _activations(built.model) == {"GELU"}
    assert "quick_gelu" not in built.model_cfg


def test_quick_gelu_contradicting_the_tag_is_refused(fake_zoo_download) -> None:
    fake_zoo_download("ViT-B-32", "openai")
    with pytest.raises(ValueError, match=r"model.clip.quick_gelu=False contradicts pretrained tag 'openai'"):
        build_clip(CLIPSource(name="ViT-B-32", pretrained="openai", quick_gelu=False))


def test_local_file_of_an_ambiguous_zoo_model_needs_quick_gelu(fake_zoo_download, tmp_path) -> None:
    weights = fake_zoo_download("ViT-B-32", "openai")  # a plain state dict: it records no config
    with pytest.raises(ValueError, match=r"model.clip.quick_gelu is not set.*openai.*need QuickGELU"):
        build_clip(CLIPSource(name="ViT-B-32", pretrained=str(weights)))
    assert _activations(build_clip(CLIPSource(name="ViT-B-32", pretrained=str(weights), quick_gelu=True)).model) == {
        "QuickGELU"
    }
    assert _activations(build_clip(CLIPSource(name="ViT-B-32", pretrained=str(weights), quick_gelu=False)).model) == {
        "GELU"
    }


def test_file_that_records_its_config_decides_the_activation(tiny_config, tmp_path) -> None:
    config = dict(tiny_config, quick_gelu=True)
    state = {k: v.contiguous() for k, v in open_clip.CLIP(**config).state_dict().items()}
    path = tmp_path / "patched.safetensors"
    save_safetensors(state, path, {"format": "open_clip", "model_cfg": json.dumps(config)})
    built = build_clip(CLIPSource(pretrained=str(path)))  # no name, no config: the file says
    assert _activations(built.model) == {"QuickGELU"} and built.model_cfg["quick_gelu"] is True
    with pytest.raises(ValueError, match="contradicts the checkpoint"):
        build_clip(CLIPSource(pretrained=str(path), quick_gelu=False))


def test_explicit_quick_gelu_applies_to_an_inline_config(tiny_config) -> None:
    built = build_clip(CLIPSource(config=tiny_config, quick_gelu=True))
    assert _activations(built.model) == {"QuickGELU"} and built.model_cfg["quick_gelu"] is True
    assert _activations(build_clip(CLIPSource(config=tiny_config)).model) == {"GELU"}


def test_zoo_weights_load_exactly_through_the_download_path(fake_zoo_download) -> None:
    path = fake_zoo_download("ViT-B-32", "openai")
    built = build_clip(CLIPSource(name="ViT-B-32", pretrained="openai"))
    saved = torch.load(path, weights_only=True)
    assert torch.equal(built.model.state_dict()["visual.conv1.weight"], saved["visual.conv1.weight"].float())
    assert built.preprocess_cfg["interpolation"] == "bicubic"  # the tag's preprocessing, not the default


# Tags open_clip's pretrained table marks `quick_gelu: true` (every model they appear with), as of open_clip 3.x.
QUICK_GELU_TAGS = {"openai", "yfcc15m", "cc12m", "metaclip_400m", "metaclip_fullcc", "dfn2b", "dfn5b"}


def test_every_tag_of_the_pretrained_table_gets_the_activation_it_was_trained_with() -> None:
    from open_clip.pretrained import get_pretrained_cfg

    from paint_lightning.models.zoo import tag_quick_gelu

    decided = {}
    for name, tag in open_clip.list_pretrained():
        said = get_pretrained_cfg(name, tag).get("quick_gelu")
        expected = said if said is not None else open_clip.get_model_config(name).get("quick_gelu", False)
        decided[(name, tag)] = tag_quick_gelu(name, tag)
        assert decided[(name, tag)] == bool(expected), (name, tag)
    for name, tag in decided:
        if tag in QUICK_GELU_TAGS or name.endswith("-quickgelu"):
            assert decided[(name, tag)], (name, tag)
    # MetaCLIP, DFN and OpenAI's weights of the plain names need QuickGELU; LAION-2B, DataComp and SigLIP do not.
    for name, tag in [("ViT-B-16", "metaclip_400m"), ("ViT-H-14", "dfn5b"), ("ViT-B-16", "dfn2b"), ("RN50", "openai")]:
        assert decided[(name, tag)], (name, tag)
    for name, tag in [("ViT-B-32", "laion2b_s34b_b79k"), ("ViT-B-16", "datacomp_xl_s13b_b90k")]:
        assert not decided[(name, tag)], (name, tag)
    assert not decided[("ViT-B-16-SigLIP", "webli")]
    # A tag that is silent takes the config's activation: roberta-ViT-B-32's config has QuickGELU.
    assert decided[("roberta-ViT-B-32", "laion2b_s12b_b32k")]


def test_metaclip_tag_builds_quick_gelu(fake_zoo_download) -> None:
    fake_zoo_download("ViT-B-32", "metaclip_400m")
    built = build_clip(CLIPSource(name="ViT-B-32", pretrained="metaclip_400m"))
    assert _activations(built.model) == {"QuickGELU"} and built.model_cfg["quick_gelu"] is True
