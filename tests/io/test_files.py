import os

import pytest
import torch

from paint_lightning.io.files import atomic_path, sha256_file, write_json


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

    from paint_lightning.io.files import save_safetensors

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


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_every_atomic_writer_gives_the_permissions_of_a_plain_write(tmp_path, umask, mode) -> None:
    from safetensors.torch import save_file

    from paint_lightning.io.files import save_safetensors, write_text

    previous = os.umask(umask)
    try:
        written = [
            save_safetensors({"w": torch.ones(2)}, tmp_path / "patched.safetensors", {"format": "open_clip"}),
            write_json(tmp_path / "patched.json", {"alpha": 0.5}),
            write_text(tmp_path / "report.txt", "alpha 0.5\n"),
        ]
        with atomic_path(tmp_path / "head.safetensors") as tmp:  # a writer that replaces the file itself
            save_file({"head": torch.ones(2)}, str(tmp))
        written.append(tmp_path / "head.safetensors")
    finally:
        os.umask(previous)
    assert {path.name: oct(path.stat().st_mode & 0o777) for path in written} == {
        path.name: oct(mode) for path in written
    }
