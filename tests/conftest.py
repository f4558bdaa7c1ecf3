"""Shared fixtures: tiny CLIPs, synthetic tasks, caches in tmp_path, no network."""

from __future__ import annotations

import copy
import os
import socket
from typing import Any

import pytest
import torch

from paint_lightning.data import PaintDataModule, Task
from paint_lightning.data.synthetic import ColourPatchSource
from paint_lightning.models import CLIPSource, PaintModule

# The tiny `paint fit` run shared by the command and dashboard tests.
pytest_plugins = ["tests.run_fixtures"]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one pytest worker per core (pytest-xdist): each keeps to one thread, and so do
    # the processes its tests start, so that workers do not fight over the cores.
    for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_variable] = "1"
    torch.set_num_threads(1)

TINY_CONFIG: dict[str, Any] = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 16, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(autouse=True)
def _offline_and_isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Caches under a temporary HOME; any Python-level connection off localhost fails."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and "/" not in host:
            raise RuntimeError(f"tests must not use the network (tried {address!r})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def tiny_config() -> dict[str, Any]:
    return copy.deepcopy(TINY_CONFIG)


def tiny_module(seed: int = 0, **kwargs: Any) -> PaintModule:
    torch.manual_seed(seed)
    kwargs.setdefault("head_cache_dir", None)
    kwargs.setdefault("lr", 1e-2)
    kwargs.setdefault("warmup_steps", 1)
    return PaintModule(CLIPSource(config=copy.deepcopy(TINY_CONFIG)), **kwargs)


def tiny_datamodule(**kwargs: Any) -> PaintDataModule:
    kwargs.setdefault("batch_size", 16)
    kwargs.setdefault("num_workers", 0)
    kwargs.setdefault("heldout_fraction", 0.25)
    patch = Task("patches", ColourPatchSource(num_classes=4, num_train=64, num_test=32, seed=1), templates=["a {}."])
    support = Task("other", ColourPatchSource(num_classes=3, num_train=40, num_test=24, seed=2))
    return PaintDataModule(patch=[patch], support=[support], **kwargs)


_ZOO_FILES: dict[tuple[str, str], Any] = {}


@pytest.fixture
def fake_zoo_download(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Stands in for open_clip's weight download, so zoo names + pretrained tags load offline.

    Calling ``fake_zoo_download("ViT-B-32", "openai")`` saves (once per session) a randomly
    initialised fp16 state dict of that architecture, seeded, as a torch file, and makes
    ``open_clip``'s download of that tag return it; everything after the download (open_clip's
    tag handling, loading, preprocessing) runs as for real. Returns the file's path. Tags not
    registered this way still fail (no network).
    """
    import open_clip
    from open_clip import factory
    from open_clip.pretrained import get_pretrained_cfg

    registered: dict[str, Any] = {}

    def register(name: str, tag: str) -> Any:
        cfg = get_pretrained_cfg(name, tag)
        assert cfg, f"{name} has no pretrained tag {tag!r}"
        if (name, tag) not in _ZOO_FILES:
            torch.manual_seed(0)
            model = open_clip.create_model(name, pretrained=None)
            path = tmp_path_factory.getbasetemp() / "zoo" / f"{name}-{tag}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, path)
            _ZOO_FILES[(name, tag)] = path
        registered[cfg.get("hf_hub") or cfg["url"]] = _ZOO_FILES[(name, tag)]
        return _ZOO_FILES[(name, tag)]

    def fake_download(cfg: dict[str, Any], *args: Any, **kwargs: Any) -> str:
        key = cfg.get("hf_hub") or cfg.get("url")
        if key not in registered:
            raise RuntimeError(f"tests must not download weights ({key}); register the tag with fake_zoo_download")
        return str(registered[key])

    monkeypatch.setattr(factory, "download_pretrained", fake_download)
    return register
