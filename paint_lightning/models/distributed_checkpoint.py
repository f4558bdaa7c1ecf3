"""Lightning's distributed checkpoints (a folder per checkpoint) read on one process, weights only.

Under ``ModelParallelStrategy`` (FSDP2) with ``save_distributed_checkpoint=True`` (its default)
each checkpoint is a folder named like a file, ``epoch=1-step=2.ckpt/``: torch's distributed
checkpoint (``.metadata`` and one ``__<rank>_0.distcp`` per process) holds the model
(``state_dict``) and optimizer (``optimizer_<i>``) tensors; ``meta.pt`` holds the rest (hyper
parameters, callbacks' and the DataModule's states, loop counters).

:func:`read_distributed_checkpoint` turns such a folder into what a one-file checkpoint holds for
the offline commands: the full, plain model state dict and ``meta.pt``'s entries. Only tensors
are read from the distributed part (with torch's public ``torch.distributed.checkpoint.load``,
``no_dist=True``), never its pickled entries; ``meta.pt`` is read with ``weights_only=True``.
The optimizer state is left out: nothing offline needs it.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from typing_extensions import override

from paint_lightning.errors import UserError

DCP_METADATA = ".metadata"  # torch.distributed.checkpoint's index of the folder
META = "meta.pt"  # Lightning's lightning.fabric.utilities.load._METADATA_FILENAME
_MODEL = "state_dict"


def is_distributed_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a checkpoint folder (torch's ``.metadata`` or Lightning's ``meta.pt`` in it)."""
    return (Path(path) / DCP_METADATA).is_file() or (Path(path) / META).is_file()


def consolidate_hint(path: str | Path) -> str:
    """How to turn the distributed checkpoint ``path`` into one file (Lightning's own tool)."""
    return (
        f"consolidate it into one file with `python -m lightning.fabric.utilities.consolidate_checkpoint {path}` "
        f"(writes {path}.consolidated) and pass that file"
    )


def read_distributed_checkpoint(path: Path, field: str = "--run") -> dict[str, Any]:
    """The checkpoint in the folder ``path`` as one dict: ``state_dict`` (full, on the CPU) and ``meta.pt``'s entries.

    Args:
        path: A checkpoint folder (:func:`is_distributed_checkpoint`).
        field: The flag that named it, for error messages.

    Raises:
        UserError: When the folder cannot be read (an entry missing or damaged), naming the path
            and how to consolidate it.
    """
    from torch.distributed.checkpoint import CheckpointException, FileSystemReader, load
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata

    try:
        metadata = FileSystemReader(str(path)).read_metadata()
        model: dict[str, torch.Tensor] = {}
        for flat, entry in metadata.state_dict_metadata.items():
            where = (metadata.planner_data or {}).get(flat) or tuple(flat.split(".", 1))
            if not where or where[0] != _MODEL:
                continue  # the optimizer's state, or something not the model's
            if not isinstance(entry, TensorStorageMetadata) or len(where) != 2:
                raise ValueError(f"the model entry {flat!r} is not a tensor")
            model[str(where[1])] = torch.empty(entry.size, dtype=entry.properties.dtype)
        if not model:
            raise ValueError(f"it holds no model ({_MODEL!r}) tensors")
        state = {_MODEL: model}
        with warnings.catch_warnings():  # "assuming the intent is to load in a single process": it is
            warnings.simplefilter("ignore")
            load(state, storage_reader=FileSystemReader(str(path)), no_dist=True)
        meta = torch.load(path / META, map_location="cpu", weights_only=True)
    except (CheckpointException, pickle.UnpicklingError, RuntimeError, ValueError, EOFError, OSError) as err:
        first = _first_line(err)
        raise UserError(
            f"{field}: cannot read the distributed checkpoint {path} ({first}); is it complete (every process's "
            f"__<rank>_0.distcp, .metadata and {META})? If it is, {consolidate_hint(path)}."
        ) from err
    if not isinstance(meta, dict):
        raise UserError(f"{field}: {path / META} is not a Lightning checkpoint's metadata; {consolidate_hint(path)}.")
    return {**meta, _MODEL: state[_MODEL]}


def _first_line(err: BaseException) -> str:
    """The first line of what went wrong (a ``CheckpointException`` wraps each process's failure)."""
    failures = getattr(err, "failures", None)  # CheckpointException: rank -> (exception, traceback)
    if isinstance(failures, dict) and failures:
        first = next(iter(failures.values()))
        err = first[0] if isinstance(first, tuple) and isinstance(first[0], BaseException) else err
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class FolderCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint reader, which also reads a distributed checkpoint's folder on one process.

    For ``paint validate``/``paint test --ckpt_path <folder>`` under a strategy that reads files
    only (one process, DDP): the folder is read as :func:`read_distributed_checkpoint` reads it
    (model and ``meta.pt``, weights only, whatever ``weights_only`` says); files as Lightning reads them.
    """

    @override
    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        if is_distributed_checkpoint(path):
            return read_distributed_checkpoint(Path(path), "--ckpt_path")
        return super().load_checkpoint(path, map_location=map_location, weights_only=weights_only)


def read_folder_checkpoints(strategy: Any, ckpt_path: Any, subcommand: str) -> None:
    """Lets ``strategy`` read ``--ckpt_path`` when it is a distributed checkpoint's folder.

    ``ModelParallelStrategy`` reads such a folder itself (sharded, each process its part); other
    strategies get a :class:`FolderCheckpointIO` to validate or test it. Resuming training needs
    the optimizer's sharded state, which only the strategy that wrote it reads.

    Raises:
        UserError: For ``fit`` from a folder under another strategy, naming the strategy to use.
    """
    if ckpt_path is None or not is_distributed_checkpoint(ckpt_path) or _reads_folders(strategy):
        return
    if subcommand == "fit":
        raise UserError(
            f"--ckpt_path={ckpt_path}: a distributed checkpoint (a folder) resumes only under the strategy that "
            "wrote it: add --trainer.strategy=lightning.pytorch.strategies.ModelParallelStrategy and its "
            "settings; `paint validate`/`paint test` read it under any strategy.",
            exit_code=2,
        )
    strategy.checkpoint_io = FolderCheckpointIO()


def _reads_folders(strategy: Any) -> bool:
    from lightning.pytorch.strategies import FSDPStrategy, ModelParallelStrategy

    return isinstance(strategy, (ModelParallelStrategy, FSDPStrategy))
