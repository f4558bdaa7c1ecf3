"""Shared fixtures: tiny CLIPs, synthetic tasks, caches in tmp_path, no network."""

from __future__ import annotations

import copy
import socket
from typing import Any

import pytest
import torch

from paint_lightning.data import PaintDataModule, Task
from paint_lightning.data.synthetic import ColourPatchSource
from paint_lightning.models import CLIPSource, PaintModule

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
