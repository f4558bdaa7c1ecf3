"""Models named hf-hub:org/name and local-dir:path: their weights are found or the build is refused."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import open_clip
import pytest
import torch
from huggingface_hub import constants
from lightning.pytorch import Trainer
from safetensors.torch import save_file

from paint_lightning.commands.cli import describe_run, main
from paint_lightning.models import PaintModule
from paint_lightning.models.clip_source import CLIPSource, build_clip
from tests.conftest import TINY_CONFIG

REPO = Path(__file__).resolve().parents[2]
REVISION = "0123456789abcdef0123456789abcdef01234567"
MEAN = [0.25, 0.5, 0.75]


def _tiny_state(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return {k: v.contiguous() for k, v in open_clip.CLIP(**copy.deepcopy(TINY_CONFIG)).state_dict().items()}


def _write_model_folder(folder: Path, weights: str | None, seed: int = 7) -> dict[str, torch.Tensor]:
    """open_clip_config.json (tiny model, its own mean) and optionally the weights file, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"model_cfg": TINY_CONFIG, "preprocess_cfg": {"mean": MEAN, "std": [0.5, 0.5, 0.5]}}
    (folder / "open_clip_config.json").write_text(json.dumps(config), encoding="utf-8")
    state = _tiny_state(seed)
    if weights is not None:
        save_file(state, str(folder / weights))
    return state


def _fake_hub_cache(cache: Path, repo_id: str, weights: str | None) -> tuple[Path, dict[str, torch.Tensor]]:
    """A Hugging Face cache in the hub's layout: refs/main and one snapshot; returns the repo folder."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REVISION, encoding="utf-8")
    state = _write_model_folder(repo / "snapshots" / REVISION, weights)
    return repo, state


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache as HF_HUB_CACHE, offline (huggingface_hub read both at import)."""
    cache = tmp_path / "hf" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_hf_hub_model_without_its_weights_in_the_cache_is_refused(hub_cache: Path) -> None:
    repo, _ = _fake_hub_cache(hub_cache, "org/tiny", weights=None)
    with pytest.raises(ValueError) as info:
        build_clip(CLIPSource(name="hf-hub:org/tiny"), "model.clip")
    message = str(info.value)
    for part in ("model.clip.name='hf-hub:org/tiny'", str(repo), "open_clip_model.safetensors", "HF_HUB_OFFLINE=1"):
        assert part in message, part
    assert "hf download org/tiny" in message and "model.clip.random_init: true" in message
    assert "`paint model download --model hf-hub:org/tiny`" in message


def test_hf_hub_model_loads_the_cached_weights_and_says_where_from(hub_cache: Path) -> None:
    repo, state = _fake_hub_cache(hub_cache, "org/tiny", weights="open_clip_model.safetensors")
    module = PaintModule(CLIPSource(name="hf-hub:org/tiny"), head_cache_dir=None)
    loaded = module.clip.state_dict()
    assert all(torch.equal(loaded[key], value) for key, value in state.items())
    assert list(module.preprocess_cfg["mean"]) == MEAN  # the repository's own preprocessing
    weights = repo / "snapshots" / REVISION / "open_clip_model.safetensors"
    line = describe_run(module, None, Trainer(accelerator="cpu", max_epochs=1, logger=False)).splitlines()[0]
    assert line.startswith(f"Model: hf-hub:org/tiny (weights from {weights}), GELU")


def test_hf_hub_model_falls_back_to_the_pytorch_bin_as_open_clip_does(hub_cache: Path) -> None:
    _fake_hub_cache(hub_cache, "org/tiny", weights=None)
    snapshot = hub_cache / "models--org--tiny" / "snapshots" / REVISION
    state = _tiny_state(3)
    torch.save(state, snapshot / "open_clip_pytorch_model.bin")
    built = build_clip(CLIPSource(name="hf-hub:org/tiny"))
    assert torch.equal(built.model.state_dict()["text_projection"], state["text_projection"])
    assert built.origin == f"hf-hub:org/tiny (weights from {snapshot / 'open_clip_pytorch_model.bin'})"


def test_hf_hub_model_in_model_clip_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "elsewhere"))  # not the cache that holds it
    _, state = _fake_hub_cache(tmp_path / "mine", "org/tiny", weights="open_clip_model.safetensors")
    built = build_clip(CLIPSource(name="hf-hub:org/tiny", cache_dir=str(tmp_path / "mine")))
    assert torch.equal(built.model.state_dict()["logit_scale"], state["logit_scale"])
    with pytest.raises(ValueError, match=r"open_clip_config\.json is not in the Hugging Face cache .*elsewhere"):
        build_clip(CLIPSource(name="hf-hub:org/tiny"))


def test_random_weights_only_when_asked_for_and_a_file_may_replace_the_hub_weights(
    hub_cache: Path, tmp_path: Path
) -> None:
    _fake_hub_cache(hub_cache, "org/tiny", weights=None)
    random = build_clip(CLIPSource(name="hf-hub:org/tiny", random_init=True))
    assert random.origin == "hf-hub:org/tiny (random weights, random_init: true)"
    file = tmp_path / "mine.safetensors"
    state = _tiny_state(11)
    save_file(state, str(file))
    from_file = build_clip(CLIPSource(name="hf-hub:org/tiny", pretrained=str(file)))
    assert torch.equal(from_file.model.state_dict()["positional_embedding"], state["positional_embedding"])
    assert from_file.origin == f"hf-hub:org/tiny (weights from {file})"
    with pytest.raises(ValueError, match=r"random_init=true contradicts model\.clip\.pretrained"):
        build_clip(CLIPSource(name="hf-hub:org/tiny", pretrained=str(file), random_init=True), "model.clip")
    with pytest.raises(ValueError, match=r"brings its own weights"):
        build_clip(CLIPSource(name="hf-hub:org/tiny", pretrained="openai"), "model.clip")


def test_paint_fit_stops_with_one_line_before_training_a_random_hub_model(hub_cache: Path, tmp_path, capsys) -> None:
    repo, _ = _fake_hub_cache(hub_cache, "org/tiny", weights=None)
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "fit",
                "--config",
                str(REPO / "tests/conf/tiny.yaml"),
                "--model.clip.config=null",
                "--model.clip.name=hf-hub:org/tiny",
                f"--trainer.default_root_dir={tmp_path / 'runs'}",
            ]
        )
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: model.clip.name='hf-hub:org/tiny'")
    assert str(repo) in errors[0] and "open_clip_model.safetensors" in errors[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.safetensors"))


def test_local_dir_model_without_weights_is_refused_and_with_them_loads(tmp_path: Path) -> None:
    folder = tmp_path / "shipped"
    _write_model_folder(folder, weights=None)
    with pytest.raises(ValueError, match=rf"{folder} holds open_clip_config\.json but no weights file"):
        build_clip(CLIPSource(name=f"local-dir:{folder}"), "model.clip")
    state = _write_model_folder(folder, weights="open_clip_model.safetensors", seed=5)
    built = build_clip(CLIPSource(name=f"local-dir:{folder}"))
    assert torch.equal(built.model.state_dict()["text_projection"], state["text_projection"])
    assert built.origin == f"local-dir:{folder} (weights from {folder / 'open_clip_model.safetensors'})"


@pytest.fixture
def tiny_zoo(monkeypatch: pytest.MonkeyPatch) -> str:
    """A tiny architecture in open_clip's zoo, with one pretrained tag (served by the hub)."""
    from open_clip import factory, pretrained

    monkeypatch.setitem(factory._MODEL_CONFIGS, "Tiny-Test", copy.deepcopy(TINY_CONFIG))
    monkeypatch.setitem(pretrained._PRETRAINED, "Tiny-Test", {"openai": {"hf_hub": "org/tiny-openai/"}})
    return "Tiny-Test"


def test_zoo_name_without_pretrained_is_refused_unless_random_init(tiny_zoo: str) -> None:
    with pytest.raises(ValueError, match=r"model\.clip\.name='Tiny-Test' without model\.clip\.pretrained.*\(openai\)"):
        build_clip(CLIPSource(name=tiny_zoo), "model.clip")
    built = build_clip(CLIPSource(name=tiny_zoo, random_init=True))
    assert built.origin == "Tiny-Test (random weights, random_init: true)"


def test_a_tag_whose_download_gives_no_file_is_refused(tiny_zoo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from open_clip import factory

    # open_clip's download returns '' for a tag config without a source; it then builds randomly.
    monkeypatch.setattr(factory, "download_pretrained", lambda cfg, *args, **kwargs: "")
    with pytest.raises(ValueError, match=r"could not load the weights of Tiny-Test pretrained tag 'openai'"):
        build_clip(CLIPSource(name=tiny_zoo, pretrained="openai"), "model.clip")


def test_a_tag_loads_and_the_build_line_names_it(tiny_zoo: str, hub_cache: Path) -> None:
    _, state = _fake_hub_cache(hub_cache, "org/tiny-openai", weights="open_clip_model.safetensors")
    built = build_clip(CLIPSource(name=tiny_zoo, pretrained="openai"))
    assert torch.equal(built.model.state_dict()["text_projection"], state["text_projection"])
    assert built.origin == "Tiny-Test (weights: pretrained tag openai)"
