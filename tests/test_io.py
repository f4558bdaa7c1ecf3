import os

import pytest
import torch

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


def test_safetensors_files_are_byte_reproducible(tmp_path) -> None:
    import hashlib

    from safetensors.torch import load_file

    from paint_lightning.io import save_safetensors

    tensors = {"b.weight": torch.arange(6.0).view(2, 3), "a.bias": torch.ones(3, dtype=torch.float16)}
    metadata = {key: f"value of {key}" for key in ("format", "model_cfg", "vocab_size", "producer", "step")}
    digests = set()
    for attempt in range(8):  # safetensors' own metadata order varies from one save to the next
        path = tmp_path / f"{attempt}.safetensors"
        save_safetensors(tensors, path, metadata)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1
    loaded = load_file(tmp_path / "0.safetensors")
    assert all(torch.equal(loaded[key], value) for key, value in tensors.items())
