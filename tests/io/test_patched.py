"""The patched model on disk (paint_lightning/io/patched.py), as fit, sweep, export and parallel write it."""

import copy
import os

import open_clip
import pytest

from paint_lightning.io.patched import export_patched, load_patched
from tests.conftest import TINY_CONFIG


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_shipped_files_are_readable_as_the_umask_allows(tmp_path, umask, mode) -> None:
    model = open_clip.CLIP(**copy.deepcopy(TINY_CONFIG))
    previous = os.umask(umask)
    try:
        export_patched(model.state_dict(), tmp_path / "shipped", {"mix": 0.5}, TINY_CONFIG, {"size": 16})
    finally:
        os.umask(previous)
    modes = {path.name: oct(path.stat().st_mode & 0o777) for path in (tmp_path / "shipped").iterdir()}
    assert modes == {name: oct(mode) for name in ("patched.safetensors", "patched.json", "open_clip_config.json")}
    state, meta = load_patched(tmp_path / "shipped")
    assert meta["mix"] == 0.5 and set(state) == set(model.state_dict())
