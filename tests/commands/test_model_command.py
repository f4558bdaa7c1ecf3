"""`paint model check|download`: a model's files in the cache, named with the folder and the fill command."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
from huggingface_hub import constants
from open_clip import factory, pretrained

from paint_lightning.commands.cli import main
from tests.conftest import TINY_CONFIG
from tests.models.test_hub import REVISION, _fake_hub_cache, _write_model_folder, hub_cache  # noqa: F401


def _check(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(["model", *argv])
    except SystemExit as exit_info:
        return int(exit_info.code or 0), capsys.readouterr().out
    return 0, capsys.readouterr().out


def test_check_names_the_cache_folder_and_the_fill_command_when_the_weights_are_missing(
    hub_cache,  # noqa: F811
    capsys,
):
    repo, _ = _fake_hub_cache(hub_cache, "org/tiny", weights=None)
    code, out = _check(["check", "--model", "hf-hub:org/tiny"], capsys)
    assert code == 1
    assert f"[ok]      config: {repo / 'snapshots' / REVISION / 'open_clip_config.json'}" in out
    assert f"[MISSING] weights: open_clip_model.safetensors or open_clip_pytorch_model.bin not in {repo}" in out
    assert f"Fill the cache {repo} with `paint model download --model hf-hub:org/tiny`" in out
    assert "`hf download org/tiny`" in out
    (repo / "snapshots" / REVISION / "open_clip_model.safetensors").write_bytes(b"weights")
    code, out = _check(["check", "--model", "hf-hub:org/tiny"], capsys)
    assert code == 0 and "Every file is there." in out and "MISSING" not in out


def test_check_reads_the_cache_dir_from_the_flag_or_a_config(tmp_path, hub_cache, capsys):  # noqa: F811
    mine = tmp_path / "mine"
    _fake_hub_cache(mine, "org/tiny", weights="open_clip_model.safetensors")
    code, out = _check(["check", "--model", "hf-hub:org/tiny"], capsys)
    assert code == 1 and f"not in {hub_cache / 'models--org--tiny'}" in out  # the default cache lacks it
    assert _check(["check", "--model", "hf-hub:org/tiny", "--cache_dir", str(mine)], capsys)[0] == 0
    config = tmp_path / "run.yaml"
    config.write_text(f"model:\n  clip:\n    name: hf-hub:org/tiny\n    cache_dir: {mine}\n")
    code, out = _check(["check", "--model", str(config)], capsys)
    assert code == 0 and str(mine / "models--org--tiny") in out
    config.write_text("model:\n  lr: 0.1\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["model", "check", "--model", str(config)])
    assert exit_info.value.code == 2 and "no model.clip.name" in capsys.readouterr().err


def test_download_fetches_through_mocked_functions_and_then_checks(hub_cache, capsys, monkeypatch):  # noqa: F811
    calls: list[tuple[str, dict[str, Any]]] = []
    repo_folder = hub_cache / "models--org--tiny"

    def fake_hf_hub_download(**kwargs: Any) -> str:
        calls.append(("hf_hub_download", kwargs))
        _fake_hub_cache(hub_cache, kwargs["repo_id"], weights=None)
        return str(repo_folder / "snapshots" / REVISION / kwargs["filename"])

    def fake_download_pretrained(cfg: dict[str, Any], cache_dir: str | None = None, **_: Any) -> str:
        calls.append(("download_pretrained", {"cfg": cfg, "cache_dir": cache_dir}))
        path = repo_folder / "snapshots" / REVISION / "open_clip_model.safetensors"
        path.write_bytes(b"weights")
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_hf_hub_download)
    monkeypatch.setattr(pretrained, "download_pretrained", fake_download_pretrained)
    with pytest.raises(SystemExit) as exit_info:  # offline: refused before any download
        main(["model", "download", "--model", "hf-hub:org/tiny"])
    assert exit_info.value.code == 2 and "HF_HUB_OFFLINE=1" in capsys.readouterr().err and calls == []
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    code, out = _check(["download", "--model", "hf-hub:org/tiny"], capsys)
    assert code == 0 and "Every file is there." in out
    assert calls[0] == (
        "hf_hub_download",
        {"repo_id": "org/tiny", "filename": "open_clip_config.json", "cache_dir": None},
    )
    assert calls[1] == ("download_pretrained", {"cfg": {"hf_hub": "org/tiny/"}, "cache_dir": None})
    calls.clear()
    assert _check(["download", "--model", "hf-hub:org/tiny"], capsys)[0] == 0 and calls == []  # nothing to fetch


@pytest.fixture
def tiny_zoo(monkeypatch: pytest.MonkeyPatch) -> str:
    """A tiny zoo architecture with a hub tag and a URL-only tag."""
    monkeypatch.setitem(factory._MODEL_CONFIGS, "Tiny-Test", copy.deepcopy(TINY_CONFIG))
    tags = {"hub": {"hf_hub": "org/tiny-zoo/"}, "web": {"url": "https://example.org/models/tiny-web.pt"}}
    monkeypatch.setitem(pretrained._PRETRAINED, "Tiny-Test", tags)
    return "Tiny-Test"


def test_check_zoo_tags_in_the_hub_cache_and_in_open_clips_download_folder(tiny_zoo, hub_cache, tmp_path, capsys):  # noqa: F811
    code, out = _check(["check", "--model", tiny_zoo, "--pretrained", "hub"], capsys)
    assert code == 1 and f"not in {hub_cache / 'models--org--tiny-zoo'}" in out
    assert "`paint model download --model Tiny-Test --pretrained hub`" in out and "config" not in out
    _fake_hub_cache(hub_cache, "org/tiny-zoo", weights="open_clip_pytorch_model.bin")
    assert _check(["check", "--model", tiny_zoo, "--pretrained", "hub"], capsys)[0] == 0
    clip_cache = tmp_path / "clip"
    code, out = _check(["check", "--model", tiny_zoo, "--pretrained", "web", "--cache_dir", str(clip_cache)], capsys)
    assert code == 1 and f"tiny-web.pt not in {clip_cache}" in out
    clip_cache.mkdir()
    (clip_cache / "tiny-web.pt").write_bytes(b"weights")
    assert _check(["check", "--model", tiny_zoo, "--pretrained", "web", "--cache_dir", str(clip_cache)], capsys)[0] == 0
    with pytest.raises(SystemExit) as exit_info:
        main(["model", "check", "--model", tiny_zoo, "--pretrained", "nope"])
    assert exit_info.value.code == 2 and "Tags of Tiny-Test: hub, web" in capsys.readouterr().err


def test_check_a_local_folder(tmp_path, capsys):
    folder = tmp_path / "shipped"
    _write_model_folder(folder, weights=None)
    code, out = _check(["check", "--model", f"local-dir:{folder}"], capsys)
    assert code == 1 and "[MISSING] weights" in out and "nothing can download a local file" in out
    _write_model_folder(folder, weights="open_clip_model.safetensors")
    assert _check(["check", "--model", f"local-dir:{folder}"], capsys)[0] == 0


def _tokenizer_cache(cache: Path, repo_id: str) -> Path:
    """A tokenizer repository in the hub's cache layout: tokenizer_config.json and tokenizer.json."""
    snapshot = cache / f"models--{repo_id.replace('/', '--')}" / "snapshots" / REVISION
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text(REVISION, encoding="utf-8")
    (snapshot / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 16}), encoding="utf-8")
    (snapshot / "tokenizer.json").write_text(json.dumps({"version": "1.0"}), encoding="utf-8")
    return snapshot


def test_a_hub_text_tower_needs_its_tokenizer_files_and_download_fetches_them(hub_cache, capsys, monkeypatch):  # noqa: F811
    repo, _ = _fake_hub_cache(hub_cache, "org/tiny", weights="open_clip_model.safetensors")
    config_path = repo / "snapshots" / REVISION / "open_clip_config.json"
    config = json.loads(config_path.read_text())
    config["model_cfg"]["text_cfg"]["hf_tokenizer_name"] = "org/tok"
    config_path.write_text(json.dumps(config))
    code, out = _check(["check", "--model", "hf-hub:org/tiny"], capsys)
    assert code == 1 and "[ok]      weights" in out
    assert f"[MISSING] tokenizer config: tokenizer_config.json not in {hub_cache / 'models--org--tok'}" in out
    assert "[MISSING] tokenizer vocabulary: tokenizer.json or spiece.model" in out
    calls: list[dict[str, Any]] = []

    def fake_snapshot_download(**kwargs: Any) -> str:
        calls.append(kwargs)
        return str(_tokenizer_cache(hub_cache, kwargs["repo_id"]))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.setattr(pretrained, "download_pretrained", lambda *a, **k: pytest.fail("the weights are there"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    code, out = _check(["download", "--model", "hf-hub:org/tiny"], capsys)
    assert code == 0 and "Every file is there." in out and "tokenizer.json" in out
    assert [c["repo_id"] for c in calls] == ["org/tok"] and "tokenizer_config.json" in calls[0]["allow_patterns"]
