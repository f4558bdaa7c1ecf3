"""Every open_clip model family through fit, sweep, per-block export, predict and a plain open_clip reload.

Each family is the tiny twin of one real open_clip config (tests/models/families.py says which,
and which pretrained names it stands for); nothing reaches the network: weights are random files
saved here, timm towers are built without pretrained weights, and SigLIP's Hugging Face tokenizer
is a tiny word-level tokenizer written into a Hugging Face cache under the test's folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F
import yaml
from open_clip.tokenizer import HFTokenizer
from PIL import Image
from safetensors.torch import save_file

from paint_lightning.commands.cli import main
from paint_lightning.interpolation.combine import tower_tensors
from paint_lightning.interpolation.mix import group_order, parameter_group
from paint_lightning.io.config_model import model_from_config
from paint_lightning.io.patched import load_patched
from paint_lightning.models.run_loading import load_run
from tests.models.families import FAMILIES, family_config, uses_hf_tokenizer, write_fake_hf_tokenizer
from tests.run_fixtures import TINY_YAML

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _hub_offline() -> Any:
    """Hugging Face offline for the module (the tokenizer comes from the test's cache, never the hub)."""
    from huggingface_hub import constants

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "HF_HUB_OFFLINE", True)
        yield


def _hf_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    cache = tmp_path_factory.mktemp("hf")
    write_fake_hf_tokenizer(cache)
    return cache


@pytest.fixture(scope="module", params=list(FAMILIES))
def family_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A `paint fit` (with its final sweep) of one family's tiny model on synthetic colour patches."""
    family = request.param
    root = tmp_path_factory.mktemp(family)
    cache = _hf_cache(tmp_path_factory) if uses_hf_tokenizer(family) else None
    torch.manual_seed(0)
    zero_shot = model_from_config(family_config(family), "test")
    weights = root / "zero_shot.safetensors"
    save_file({k: v.contiguous() for k, v in zero_shot.state_dict().items()}, str(weights))
    config = yaml.safe_load(Path(TINY_YAML).read_text())
    clip = {"config": family_config(family), "pretrained": str(weights), "cache_dir": str(cache) if cache else None}
    config["model"]["clip"] = clip
    config["trainer"]["max_epochs"] = 1
    config["data"]["patch"][0]["source"]["init_args"].update(num_train=24, num_test=8)
    config["data"]["support"][0]["source"]["init_args"].update(num_train=12, num_test=6)
    config["data"]["batch_size"] = 8
    config["sweep"]["alphas"] = [0.0, 0.5, 1.0]
    (root / "fit.yaml").write_text(yaml.safe_dump(config))
    flags = ["--config", str(root / "fit.yaml")]
    main(["fit", *flags, f"--trainer.default_root_dir={root}"])
    return {"family": family, "root": root, "weights": weights, "flags": flags, "cache": cache}


def _run_dir(run: dict[str, Any]) -> Path:
    return run["root"] / "lightning_logs" / "version_0"


def _images(n: int = 3) -> torch.Tensor:
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_groups_are_found_for_every_tower_type(family_run):
    module = load_run(_run_dir(family_run)).module
    live, _ = module.patch_towers()
    groups = group_order(parameter_group(name) for name in tower_tensors(live))
    assert groups == FAMILIES[family_run["family"]]["groups"]
    pooling = [name for name in tower_tensors(live) if name.startswith(FAMILIES[family_run["family"]]["pooling"])]
    assert pooling and {parameter_group(name) for name in pooling} == {"head"}


def test_export_at_a_per_block_mix_reloads_in_plain_open_clip_with_identical_logits(family_run, tmp_path):
    run = load_run(_run_dir(family_run))
    module = run.module
    groups = FAMILIES[family_run["family"]]["groups"]
    mix = {groups[1]: 0.0, "*": 0.5}  # the first block or stage stays at the zero-shot weights
    out = tmp_path / "export"
    main(["export", "--run", str(_run_dir(family_run)), "--mix", json.dumps(mix), "--out", str(out)])
    state, meta = load_patched(out)
    assert meta["mix"] == [{"*": 0.5, groups[1]: 0.0}]
    live, start = (tower_tensors(t) for t in module.patch_towers())
    moved = [k for k in live if parameter_group(k) != groups[1] and not torch.equal(live[k], start[k])]
    assert moved, "fine-tuning moved no tensor outside the first group"
    for key in live:
        expected = start[key] if parameter_group(key) == groups[1] else None
        if expected is not None:
            assert torch.equal(state[f"visual.{key}"], expected), key
    zero_shot = model_from_config(family_config(family_run["family"]), "test")
    zero_shot.load_state_dict(_load(family_run))
    for key, value in zero_shot.state_dict().items():
        if not key.startswith("visual."):
            assert _same_bits(state[key], value), key  # text tower, logit scale/bias, CoCa's decoder: untouched
    model = open_clip.create_model(f"local-dir:{out}").eval()
    assert type(model) is type(module.clip)
    reference = module.clip
    reference.load_state_dict(state)
    images = _images()
    with torch.no_grad():
        ours = module(images, "patches")
        features = model.encode_image(images, normalize=True)
        bias = getattr(model, "logit_bias", None)
        theirs = features @ module.heads["patches"].t() + (bias if bias is not None else 0.0)
    torch.testing.assert_close(theirs, ours, rtol=0, atol=0)
    texts = ["a photo of class 1.", "A Photo, of class 3"]
    tokens = open_clip.get_tokenizer(f"local-dir:{out}")(texts)  # SigLIP: the tokenizer files beside the weights
    assert torch.equal(tokens, module.tokenizer(texts))
    with torch.no_grad():  # the same text weights; equal to float rounding (attention kernels may differ)
        torch.testing.assert_close(model.encode_text(tokens), module.clip.encode_text(tokens), rtol=1e-5, atol=1e-5)


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit-for-bit equality, NaN included: open_clip never initialises CoCa's ``text_decoder.text_projection``
    (``torch.empty``; its ``init_parameters`` is not called), so a random model may hold NaN there."""
    same_kind = a.shape == b.shape and a.dtype == b.dtype
    return same_kind and torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8))


def _load(run: dict[str, Any]) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(run["weights"]))


def test_zero_shot_logits_are_the_models_own_with_scale_and_bias(family_run):
    """At alpha 0 the head gives open_clip's image-text logits (SigLIP: scale and bias) for one template."""
    run = load_run(_run_dir(family_run))
    module = run.module
    start = module.patch_towers()[1]
    module.clip.visual.load_state_dict(start.state_dict())
    images = _images()
    clip = module.clip
    with torch.no_grad():
        image = clip.encode_image(images, normalize=True)
        text = clip.encode_text(module.tokenizer([f"a photo of class {i}." for i in range(4)]), normalize=True)
        scale, bias = clip.logit_scale.exp(), getattr(clip, "logit_bias", None)
        expected = scale * image @ text.t() + (bias if bias is not None else 0.0)
        torch.testing.assert_close(module(images, "patches"), expected, rtol=1e-5, atol=1e-5)
        labels = torch.tensor([0, 1, 2])
        loss = F.cross_entropy(module(images, "patches"), labels)
        torch.testing.assert_close(loss, F.cross_entropy(scale * image @ text.t(), labels))  # the bias cancels
    assert (bias is not None) == ("init_logit_bias" in FAMILIES[family_run["family"]]["config"])


# `paint sweep` for one family of each model class (CLIP, CustomTextCLIP with a logit bias, CoCa); every family's
# fit ends with the same sweep (the run's report and patched.safetensors this test compares with).
@pytest.mark.parametrize("family_run", ["resnet", "siglip", "coca"], indirect=True)
def test_sweep_of_the_two_ends_reproduces_the_run(family_run, tmp_path):
    run_dir = _run_dir(family_run)
    main(["export", "--run", str(run_dir), "--alpha", "1", "--out", str(tmp_path / "ft")])
    out = tmp_path / "sweep"
    flags = [*family_run["flags"], f"--model.clip.pretrained={family_run['weights']}"]
    fine_tuned = str(tmp_path / "ft" / "patched.safetensors")
    main(["sweep", *flags, "--fine_tuned", fine_tuned, "--out", str(out), "--device", "cpu"])
    ours = json.loads((out / "paint_report.json").read_text())
    theirs = json.loads((run_dir / "paint_report.json").read_text())
    assert ours["alphas"] == theirs["alphas"] and ours["selected_alpha"] == theirs["selected_alpha"]
    assert ours["tasks"]["patches"]["accuracy"] == theirs["tasks"]["patches"]["accuracy"]
    assert (out / "patched.safetensors").read_bytes() == (run_dir / "patched.safetensors").read_bytes()


def test_predict_with_the_familys_tokenizer(family_run, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.fromarray((np.random.RandomState(i).rand(32, 32, 3) * 255).astype("uint8")).save(folder / f"{i}.png")
    out = tmp_path / "preds.json"
    classes = ["red", "blue", "green"]
    main(["predict", "--run", str(_run_dir(family_run)), "--images", str(folder), "--classnames", *classes,
          "--output", str(out)])  # fmt: skip
    rows = json.loads(out.read_text())
    assert len(rows) == 2 and all(
        sum(t["probability"] for t in row["top"]) == pytest.approx(1, abs=1e-5) for row in rows
    )
    tokenizer = load_run(_run_dir(family_run)).module.tokenizer
    kind = HFTokenizer if uses_hf_tokenizer(family_run["family"]) else open_clip.SimpleTokenizer
    assert isinstance(tokenizer, kind)
