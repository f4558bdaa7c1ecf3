"""The one function that writes a patched model (paint_lightning/models/patched_model.py)."""

import json
from types import SimpleNamespace

import torch

from paint_lightning.engine.protocol import OpenCLIPExport
from paint_lightning.io.patched import export_patched, load_patched
from paint_lightning.models.patched_model import write_patched_model


def _exported() -> OpenCLIPExport:
    generator = torch.Generator().manual_seed(0)
    weights = {"visual.proj": torch.randn(4, 3, generator=generator), "logit_scale": torch.tensor(2.0)}
    return OpenCLIPExport(weights, {"embed_dim": 3}, {"size": 16})


def test_the_model_source_goes_first_and_the_weights_are_the_format_owners(tmp_path) -> None:
    model = SimpleNamespace(hparams={"clip": {"name": "ViT-B-32", "pretrained": "openai"}})
    path = write_patched_model(model, _exported(), tmp_path / "ours", {"mix": 0.4, "made_by": "test"})
    meta = json.loads((tmp_path / "ours" / "patched.json").read_text())
    assert list(meta)[:3] == ["model", "mix", "made_by"]
    assert meta["model"] == {"name": "ViT-B-32", "pretrained": "openai"} and meta["model_cfg"] == {"embed_dim": 3}
    direct = export_patched(_exported().state_dict, tmp_path / "direct", {}, {"embed_dim": 3}, {"size": 16})
    assert path.read_bytes() == direct.read_bytes()
    state, _ = load_patched(tmp_path / "ours")
    assert torch.equal(state["visual.proj"], _exported().state_dict["visual.proj"])


def test_a_model_without_an_open_clip_source_records_an_empty_one(tmp_path) -> None:
    write_patched_model(object(), _exported(), tmp_path, {"alpha": 1.0})
    meta = json.loads((tmp_path / "patched.json").read_text())
    assert meta["model"] == {} and meta["alpha"] == 1.0
