"""`paint push`: creates the repository and uploads the hub folder through huggingface_hub (mocked here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import huggingface_hub
import pytest
from huggingface_hub import constants

from paint_lightning.commands.cli import main


class FakeApi:
    """Records HfApi calls instead of reaching the hub."""

    calls: ClassVar[list[tuple[str, tuple, dict[str, Any]]]] = []
    fail: Exception | None = None

    def __init__(self, token: str | None = None) -> None:
        FakeApi.calls.append(("init", (), {"token": token}))

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            FakeApi.calls.append((name, args, kwargs))
            if FakeApi.fail is not None and name == "upload_folder":
                raise FakeApi.fail
            return type("Commit", (), {"commit_url": "https://huggingface.co/org/tiny/commit/abc"})()

        return call


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> type[FakeApi]:
    FakeApi.calls, FakeApi.fail = [], None
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_saved_token")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return FakeApi


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "hub"
    out.mkdir()
    for name in ("open_clip_config.json", "open_clip_model.safetensors", "README.md"):
        (out / name).write_text("x")
    return out


def test_push_creates_the_repo_and_uploads_the_folder(api, folder, capsys):
    main(["push", str(folder), "--repo", "org/tiny", "--private", "--revision", "v1"])
    names = [name for name, _, _ in api.calls]
    assert names == ["init", "create_repo", "create_branch", "upload_folder"]
    _, args, kwargs = api.calls[1]
    assert args == ("org/tiny",) and kwargs["private"] is True and kwargs["exist_ok"] is True
    assert kwargs["token"] == "hf_saved_token" and kwargs["repo_type"] == "model"
    _, args, kwargs = api.calls[2]
    assert args == ("org/tiny",) and kwargs["branch"] == "v1" and kwargs["exist_ok"] is True
    _, _, kwargs = api.calls[3]
    assert kwargs["repo_id"] == "org/tiny" and kwargs["folder_path"] == str(folder) and kwargs["revision"] == "v1"
    assert "hf-hub:org/tiny" in capsys.readouterr().out


def test_push_to_main_with_a_given_token_creates_no_branch(api, folder):
    main(["push", str(folder), "--repo", "org/tiny", "--token", "hf_given"])
    assert [name for name, _, _ in api.calls] == ["init", "create_repo", "upload_folder"]
    assert api.calls[0][2]["token"] == "hf_given" and api.calls[1][2]["private"] is False
    assert api.calls[2][2]["revision"] is None and api.calls[2][2]["token"] == "hf_given"


def test_push_without_a_token_names_hf_token_and_login(api, folder, capsys, monkeypatch):
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(SystemExit) as exit_info:
        main(["push", str(folder), "--repo", "org/tiny"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "HF_TOKEN" in err and "hf auth login" in err and "Traceback" not in err
    assert api.calls == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--repo", "tiny"], "org/name"),
        (["--repo", "org/tiny"], "open_clip_model.safetensors"),
    ],
)
def test_push_refuses_a_bad_repo_or_a_folder_that_is_not_a_hub_export(api, folder, capsys, argv, expected):
    if expected == "open_clip_model.safetensors":
        (folder / "open_clip_model.safetensors").unlink()
    with pytest.raises(SystemExit):
        main(["push", str(folder), *argv])
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1 and api.calls == []


def test_push_offline_or_refused_is_one_line(api, folder, capsys, monkeypatch):
    api.fail = RuntimeError("403 Forbidden: you cannot write to org")
    with pytest.raises(SystemExit) as exit_info:
        main(["push", str(folder), "--repo", "org/tiny"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "403 Forbidden" in err and "org/tiny" in err and "Traceback" not in err
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    api.calls = []
    with pytest.raises(SystemExit):
        main(["push", str(folder), "--repo", "org/tiny"])
    assert "HF_HUB_OFFLINE=1" in capsys.readouterr().err and api.calls == []
