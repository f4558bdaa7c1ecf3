from __future__ import annotations

from pathlib import Path

import pytest

from tests.data.registry.fakes import FAKES


@pytest.fixture(scope="session")
def fake_data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data root holding a tiny fake copy of every registry data set (read-only for tests)."""
    root = tmp_path_factory.mktemp("data_root")
    for make in FAKES.values():
        make(root)
    return root
