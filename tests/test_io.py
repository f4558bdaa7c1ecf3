import os

import pytest

from paint_lightning.io import atomic_path, sha256_file, write_json


def test_failed_write_leaves_neither_a_partial_file_nor_a_temporary(tmp_path) -> None:
    target = tmp_path / "patched.safetensors"
    target.write_bytes(b"previous complete file")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half of the new fi")
        raise RuntimeError("crash in the middle of writing")
    assert target.read_bytes() == b"previous complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["patched.safetensors"]


def test_successful_write_replaces_atomically_with_normal_permissions(tmp_path) -> None:
    target = tmp_path / "sub" / "report.json"
    write_json(target, {"alpha": 0.5})
    assert target.read_text().strip().startswith("{") and '"alpha": 0.5' in target.read_text()
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert len(sha256_file(target)) == 64
