import pytest
import torch
from safetensors.torch import save_file

from paint_lightning.io.clip_weights import CheckpointError, load_clip_state_dict


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"# my fine-tuned model: s3://bucket/ft.pt\n", r"is not a weights file .*torch\.save.*\(text\)"),
        (b'{"lr": 1e-5}\n', r"is not a weights file .*safetensors.*\(text\)"),
        (b"", r"is empty: not a weights file"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n", r"Git LFS pointer"),
    ],
    ids=["notes", "json", "empty", "lfs_pointer"],
)
def test_a_file_that_is_not_weights_says_what_it_is_not_pickled_objects(tmp_path, content, message):
    path = tmp_path / "ft.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as info:
        load_clip_state_dict(path)
    assert "pickled" not in str(info.value)


def test_torch_files_of_both_formats_still_load_and_safetensors_without_its_suffix_is_named(tmp_path):
    state = {"visual.proj": torch.arange(6.0).reshape(2, 3)}
    torch.save(state, tmp_path / "zip.pt")
    torch.save(state, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    for name in ("zip.pt", "legacy.pt"):
        assert torch.equal(load_clip_state_dict(tmp_path / name)["visual.proj"], state["visual.proj"])
    save_file(state, str(tmp_path / "weights.bin"))
    with pytest.raises(CheckpointError, match=r"looks like a safetensors file: give it the \.safetensors suffix"):
        load_clip_state_dict(tmp_path / "weights.bin")
