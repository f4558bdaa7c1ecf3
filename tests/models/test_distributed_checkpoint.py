"""A distributed checkpoint (Lightning's folder under ModelParallelStrategy) read on one process, weights only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from lightning.pytorch.strategies import SingleDeviceStrategy

from paint_lightning.errors import UserError
from paint_lightning.models.distributed_checkpoint import (
    FolderCheckpointIO,
    read_distributed_checkpoint,
    read_folder_checkpoints,
)
from paint_lightning.models.run_files import find_checkpoint
from paint_lightning.models.run_loading import REPORT, load_run

UNPICKLED: list[str] = []


def _unpickled(name: str) -> str:
    UNPICKLED.append(name)
    return name


class Tripwire:
    """Records being unpickled: reading weights only must never unpickle anything."""

    def __reduce__(self) -> tuple:
        return (_unpickled, ("tripwire",))


def as_folder(checkpoint_file: Path, folder: Path, extra: dict | None = None) -> Path:
    """Writes a file checkpoint as ModelParallelStrategy writes it: DCP (model, optimizer) + meta.pt."""
    from torch.distributed.checkpoint import FileSystemWriter, save

    checkpoint = torch.load(checkpoint_file, map_location="cpu", weights_only=True)
    optimizer = {"state": {"w": {"exp_avg": torch.ones(3)}}, "param_groups": [{"lr": 0.1, "trap": Tripwire()}]}
    parts = {"state_dict": checkpoint.pop("state_dict"), "optimizer_0": optimizer, **(extra or {})}
    checkpoint.pop("optimizer_states", None)
    folder.mkdir(parents=True)
    save(parts, storage_writer=FileSystemWriter(str(folder)), no_dist=True)
    torch.save(checkpoint, folder / "meta.pt")
    return folder


@pytest.fixture
def folder_run(tiny_run: Path, tmp_path: Path) -> Path:
    """``tiny_run`` with its checkpoint as a distributed checkpoint's folder, same name, same report."""
    run = tmp_path / "version_0"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(tiny_run / REPORT, run / REPORT)
    file = find_checkpoint(tiny_run)
    as_folder(file, run / "checkpoints" / file.name)
    return run


def test_a_run_with_a_checkpoint_folder_loads_as_the_run_with_its_file(tiny_run: Path, folder_run: Path) -> None:
    UNPICKLED.clear()
    expected = load_run(tiny_run)
    for given in (folder_run, find_checkpoint(folder_run)):  # the run folder, or the checkpoint folder itself
        loaded = load_run(given)
        assert loaded.checkpoint.is_dir() and loaded.checkpoint.name == expected.checkpoint.name
        assert loaded.report == expected.report is not None
        assert loaded.selected == expected.selected and loaded.provenance == expected.provenance is not None
        state, want = loaded.module.state_dict(), expected.module.state_dict()
        assert state.keys() == want.keys() and all(torch.equal(state[k], want[k]) for k in want)
    assert UNPICKLED == []  # the optimizer's pickled entries were never read


def test_only_tensors_and_meta_are_read(tiny_run: Path, tmp_path: Path) -> None:
    UNPICKLED.clear()
    folder = as_folder(find_checkpoint(tiny_run), tmp_path / "epoch=0-step=1.ckpt")
    checkpoint = read_distributed_checkpoint(folder)
    assert "optimizer_0" not in checkpoint and "hyper_parameters" in checkpoint
    assert all(value.device.type == "cpu" for value in checkpoint["state_dict"].values())
    assert UNPICKLED == []


@pytest.mark.parametrize("damage", ["shard", "index", "meta"])
def test_an_incomplete_folder_names_itself_and_how_to_consolidate(tiny_run: Path, tmp_path: Path, damage: str) -> None:
    folder = as_folder(find_checkpoint(tiny_run), tmp_path / "run" / "checkpoints" / "last.ckpt")
    {"shard": lambda: next(folder.glob("*.distcp")).unlink(), "index": (folder / ".metadata").unlink,
     "meta": (folder / "meta.pt").unlink}[damage]()  # fmt: skip
    with pytest.raises(UserError, match=r"--runs\[0\]: cannot read the distributed checkpoint .*last.ckpt") as info:
        load_run(tmp_path / "run", field="--runs[0]")
    assert f"python -m lightning.fabric.utilities.consolidate_checkpoint {folder}" in str(info.value)


def test_a_model_entry_that_is_not_a_tensor_is_refused(tiny_run: Path, tmp_path: Path) -> None:
    UNPICKLED.clear()
    folder = tmp_path / "last.ckpt"
    as_folder(find_checkpoint(tiny_run), folder)
    shutil.rmtree(folder)
    from torch.distributed.checkpoint import FileSystemWriter, save

    folder.mkdir()
    save({"state_dict": {"clip.logit_scale": Tripwire()}}, storage_writer=FileSystemWriter(str(folder)), no_dist=True)
    torch.save({"hyper_parameters": {}}, folder / "meta.pt")
    with pytest.raises(UserError, match=r"'state_dict\.clip\.logit_scale' is not a tensor"):
        read_distributed_checkpoint(folder)
    assert UNPICKLED == []


def test_validate_and_test_read_a_folder_on_one_process_and_fit_says_which_strategy(
    tiny_run: Path, folder_run: Path
) -> None:
    folder = find_checkpoint(folder_run)
    strategy = SingleDeviceStrategy("cpu")
    read_folder_checkpoints(strategy, str(find_checkpoint(tiny_run)), "validate")  # a file: Lightning's reader
    assert not isinstance(strategy.checkpoint_io, FolderCheckpointIO)
    with pytest.raises(UserError, match=r"resumes only under the strategy that wrote it.*ModelParallelStrategy"):
        read_folder_checkpoints(strategy, str(folder), "fit")
    read_folder_checkpoints(strategy, str(folder), "test")
    assert isinstance(strategy.checkpoint_io, FolderCheckpointIO)
    checkpoint = strategy.load_checkpoint(folder, weights_only=True)
    saved = torch.load(find_checkpoint(tiny_run), map_location="cpu", weights_only=True)
    assert checkpoint["global_step"] == saved["global_step"] and checkpoint["callbacks"] == saved["callbacks"]
    assert all(torch.equal(checkpoint["state_dict"][k], v) for k, v in saved["state_dict"].items())
