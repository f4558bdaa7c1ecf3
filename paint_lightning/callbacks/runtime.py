"""The engine inside a Trainer: the model, the data, the strategy and the precision, wired once."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any, Protocol, runtime_checkable

import torch
from lightning.pytorch import LightningModule, Trainer
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from paint_lightning.callbacks.batchnorm import pooled_batchnorm
from paint_lightning.callbacks.towers import averaged_model
from paint_lightning.data.cache import thinned
from paint_lightning.data.heldout import part_of
from paint_lightning.engine.counts import Counts, TaskCounts
from paint_lightning.engine.mixed_state import gathered_state, state_at_mix
from paint_lightning.engine.protocol import Patchable, patch_tensors
from paint_lightning.engine.sweeper import Sweeper
from paint_lightning.interpolation.mix import FINE_TUNED, Mix


@runtime_checkable
class HeldoutData(Protocol):
    """What the sweep needs from a DataModule (:class:`~paint_lightning.PaintDataModule` has it)."""

    def cached_heldout_sets(self) -> dict[str, Dataset]:
        """Task name -> held-out set (for choosing alpha)."""
        ...

    def cached_test_sets(self) -> dict[str, Dataset]:
        """Task name -> test set."""
        ...

    def eval_dataloader(self, dataset: Dataset) -> DataLoader:
        """An in-order loader of this process's shard of ``dataset``.

        Every example in exactly one shard; every process the same number of batches of the same
        sizes, padded with items labelled ``IGNORE_LABEL`` (-100), which count nowhere.
        """
        ...


def check_setup(trainer: Trainer, pl_module: LightningModule, settings: Any = None) -> None:
    """Refuses a model or DataModule the sweep cannot work with, saying what is missing.

    With ``settings`` (:class:`~paint_lightning.engine.alpha_sweep.SweepSettings`), also refuses
    per-task limits on tasks that are not support tasks of the DataModule, before training.

    Raises:
        TypeError: Naming the protocol and its members.
        ValueError: Naming ``sweep.max_task_drop`` and the support tasks.
    """
    if not isinstance(pl_module, Patchable):
        raise TypeError(
            f"InterpolationSweep needs a model implementing paint_lightning.engine.Patchable (task_specs, "
            f"patch_towers(), forward(images, task), export_open_clip(state)); got {type(pl_module).__name__}."
        )
    if not isinstance(getattr(trainer, "datamodule", None), HeldoutData):
        raise TypeError(
            "InterpolationSweep needs a DataModule with held-out and test sets (cached_heldout_sets(), "
            "cached_test_sets(), eval_dataloader(dataset)), such as PaintDataModule, passed as `datamodule=`."
        )
    datamodule: Any = trainer.datamodule  # type: ignore[attr-defined]
    specs = datamodule.task_specs() if callable(getattr(datamodule, "task_specs", None)) else []
    if settings is not None and specs:
        settings.check_roles({spec.name: spec.role for spec in specs})


class SweepRuntime:
    """Engine calls with this trainer's model, data, processes and precision.

    Args:
        trainer: The trainer.
        pl_module: The model (a :class:`~paint_lightning.engine.protocol.Patchable`).
        chunk_bytes: Device memory for staging evaluation batches.
    """

    def __init__(self, trainer: Trainer, pl_module: LightningModule, chunk_bytes: int) -> None:
        self.trainer = trainer
        self.model: Any = pl_module
        self.chunk_bytes = chunk_bytes
        self.datamodule: Any = trainer.datamodule  # type: ignore[attr-defined]
        self.averaged = averaged_model(trainer) if trainer.state.fn == "fit" else None

    def roles(self) -> dict[str, str]:
        """Task name -> role, in the model's order."""
        return {spec.name: spec.role for spec in self.model.task_specs}

    def heldout_sizes(self, limit: int | None = None) -> dict[str, int]:
        """Examples per held-out set (at most ``limit`` each: :func:`~paint_lightning.data.cache.thinned`)."""
        sets = self.datamodule.cached_heldout_sets()
        return {name: len(thinned(data, limit)) for name, data in sets.items()}  # type: ignore[arg-type]

    def test_sizes(self) -> dict[str, int]:
        """Examples per test set."""
        return {name: len(data) for name, data in self.datamodule.cached_test_sets().items()}  # type: ignore[arg-type]

    @contextmanager
    def synchronised(self) -> Iterator[dict[str, Tensor]]:
        """The tower(s) with BatchNorm statistics pooled across processes inside the block.

        Collective. Every process then evaluates (and rank 0 exports) the same weights; on leaving
        the block each process's own statistics are back, bit for bit, so training continues as
        without the sweep. No-op in one process.

        Yields:
            The live tower's pooled statistics, by their names in the module's state dict (empty in
            one process and for towers without BatchNorm).
        """
        if self.trainer.world_size == 1:
            yield {}
            return
        gather = self._gather()
        tower = self.model.patch_towers()[0]
        prefix = next(name for name, module in self.model.named_modules() if module is tower)
        with ExitStack() as stack:
            pooled = stack.enter_context(pooled_batchnorm(tower, gather))
            if self.averaged is not None:
                stack.enter_context(pooled_batchnorm(self.averaged.patch_towers()[0], gather))
            yield {f"{prefix}.{name}" if prefix else name: value for name, value in pooled.items()}

    def ends(self) -> list[Mapping[str, Tensor]] | None:
        """The end point when it is not the live weights (the weight-averaged copy), on the device."""
        if self.averaged is None:
            return None
        live, _ = patch_tensors(self.model)
        averaged, _ = patch_tensors(self.averaged)
        return [{name: tensor.to(live[name].device) for name, tensor in averaged.items()}]

    def sweeper(self) -> Sweeper:
        """A :class:`~paint_lightning.engine.sweeper.Sweeper` for this trainer."""
        return Sweeper(
            self.model,
            self.model.device,
            self.chunk_bytes,
            self.trainer.precision_plugin.forward_context,
            self._reduce("sum"),
            self.ends(),
            self.trainer.precision_plugin.convert_input,
        )

    def measure(
        self, split: str, positions: Mapping[str, Sequence[int]] | None = None, limit: int | None = None
    ) -> Callable[[list[Mix]], Counts]:
        """Counts of candidate mixes over the ``heldout`` or ``test`` sets (all processes).

        Args:
            split: ``heldout`` or ``test``.
            positions: Task name -> the positions in its set to count (a part of it, e.g. the
                confirm part of :func:`~paint_lightning.data.heldout.confirm_split`; the same on
                every process); ``None``: whole sets.
            limit: At most this many images per set, every k-th (a partial sweep's subsample).
        """
        sets = self.datamodule.cached_heldout_sets() if split == "heldout" else self.datamodule.cached_test_sets()
        names = [spec.name for spec in self.model.task_specs]
        if positions is not None:
            sets = {name: part_of(sets[name], positions[name]) for name in names}
        loaders = {name: self.datamodule.eval_dataloader(thinned(sets[name], limit)) for name in names}
        sweeper = self.sweeper()
        return lambda mixes: sweeper.count(loaders, mixes)

    def live_counts(self) -> TaskCounts | None:
        """The live weights' counts from Lightning's validation/test loop, when the model kept them."""
        tally = getattr(self.model, "eval_tally", None)  # optional: PaintModule counts in its steps
        if self.averaged is not None or not isinstance(tally, Counts) or tally.candidates != [FINE_TUNED]:
            return None
        return tally.reduced(self._reduce("sum")).column(FINE_TUNED)

    def full_state(self, mix: Mix) -> dict[str, Tensor]:
        """The module's exported state dict (host tensors) with the tower at ``mix``, on rank 0, to write at once.

        Collective: every process must call it (a sharded model is gathered tensor by tensor,
        :func:`~paint_lightning.engine.mixed_state.gathered_state`, whatever the strategy's
        ``save_distributed_checkpoint``). Rank 0 gets the whole dict; the other processes, which
        write nothing, keep no host copy and get an empty dict. The weights are written by the
        same in-place code the sweep evaluates with.
        """
        read = partial(gathered_state, self.model)
        wanted = getattr(self.model, "exported_key", None)  # only what the export writes
        keep = self.trainer.is_global_zero
        return state_at_mix(self.model, mix, self.ends(), read, keep=keep, wanted=wanted, copy_unchanged=False)

    def _gather(self) -> Callable[[Tensor], Tensor]:
        strategy = self.trainer.strategy
        return lambda tensor: torch.as_tensor(strategy.all_gather(tensor))

    def _reduce(self, op: str) -> Callable[[Tensor], Tensor]:
        strategy = self.trainer.strategy
        return lambda tensor: torch.as_tensor(strategy.reduce(tensor, reduce_op=op))
