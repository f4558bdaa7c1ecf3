"""The DataModule of a patching run: patch tasks to train on, support tasks to protect, transfer tasks to watch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lightning.pytorch import LightningDataModule
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset
from torchvision import transforms as T

from paint_lightning.data.cache import FinishesOnDevice, TensorDataset, batch_loader
from paint_lightning.data.evalsets import EvalSetCache, replaces_validation
from paint_lightning.data.heldout import heldout_source_split, task_split
from paint_lightning.data.overlap import check_disjoint
from paint_lightning.data.provenance import check_unchanged, task_provenance
from paint_lightning.data.resumable import ResumableDataLoader, SeededItems
from paint_lightning.data.samplers import EvenShardSampler, PlaceholderItems
from paint_lightning.data.sampling import SAMPLINGS, Sampling, WithTaskIndex, train_sampler
from paint_lightning.data.settings import validate_data_settings
from paint_lightning.data.tasks import Role, Task, TaskSpec, resolve_tasks

log = logging.getLogger(__name__)


class PaintDataModule(FinishesOnDevice, LightningDataModule):
    """Patch, support and transfer tasks, with seeded held-out splits for choosing alpha.

    Training uses the patch tasks' train splits minus their held-out part (several patch tasks are
    trained jointly: batches mix tasks, as ``patch_sampling`` says, and every sample is scored by
    its own task's head). Each task gets a held-out split carved from its train split
    (``heldout_fraction`` of it, at most ``heldout_max`` images, chosen by ``split_seed`` and the
    task name); held-out sets drive validation and the alpha sweep. Test splits serve only the
    final report; a task whose splits share images is refused (see :mod:`paint_lightning.data.overlap`).
    Transfer tasks are never trained on and take no part in choosing alpha: they are evaluated at
    every alpha and reported beside the others (broad transfer, unseen classes).

    Image transforms come from the model (open_clip's train and eval preprocessing) when the
    DataModule is used with a :class:`~paint_lightning.PaintModule`.

    Args:
        patch: Tasks to patch (fine-tune on).
        support: Tasks whose zero-shot accuracy must be kept.
        transfer: Tasks only evaluated (at every alpha, and on their test splits): neither trained
            on nor protected by the selection criterion.
        batch_size: Training batch size per device.
        eval_batch_size: Evaluation batch size per device (defaults to ``batch_size``).
        num_workers: Data loading worker processes.
        heldout_fraction: Share of each train split held out for validation and alpha selection.
        heldout_max: Largest held-out split per task.
        split_seed: Seed of the held-out splits and of the training order and augmentations.
        eval_cache_mb: Memory budget (MiB, per process) for keeping preprocessed evaluation sets
            in memory across epochs and sweep passes; 0 disables it.
        pin_memory: Pin host memory for faster copies to the GPU (``None``: when CUDA is used).
        persistent_workers: Keep workers alive between epochs.
        patch_sampling: How several patch tasks share each epoch: ``proportional`` to their sizes
            (their images pooled and shuffled) or ``balanced`` (an equal share each; see
            :mod:`paint_lightning.data.sampling`).
    """

    def __init__(
        self,
        patch: list[Task],
        support: list[Task] | None = None,
        transfer: list[Task] | None = None,
        batch_size: int = 128,
        eval_batch_size: int | None = None,
        num_workers: int = 2,
        heldout_fraction: float = 0.1,
        heldout_max: int = 5000,
        split_seed: int = 0,
        eval_cache_mb: int = 1024,
        pin_memory: bool | None = None,
        persistent_workers: bool = True,
        patch_sampling: Sampling = "proportional",
    ) -> None:
        super().__init__()
        if not patch:
            raise ValueError("data.patch is empty: give at least one task to patch.")
        validate_data_settings(batch_size, eval_batch_size, num_workers, heldout_fraction, heldout_max, eval_cache_mb)
        self.patch = list(patch)
        self.support = list(support or [])
        self.transfer = list(transfer or [])
        if patch_sampling not in SAMPLINGS:
            raise ValueError(f"data.patch_sampling={patch_sampling!r}: use one of {', '.join(SAMPLINGS)}.")
        self.patch_sampling = patch_sampling
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size if eval_batch_size is not None else batch_size
        self.num_workers = num_workers
        self.heldout_fraction = heldout_fraction
        self.heldout_max = heldout_max
        self.split_seed = split_seed
        self.eval_cache_mb = eval_cache_mb
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers
        self.specs = self._resolve_specs()
        # Split sizes, and splits that share images, are checked now, before anything expensive runs.
        self._splits = {task.name: self._split(task, field) for field, _, task in self._fields()}
        for field, role, task in self._fields():
            check_disjoint(task.name, field, task.source, heldout_source_split(task), role)
        self.train_transform: Callable[[Any], Any] | None = None
        self.eval_transform: Callable[[Any], Any] | None = None
        self.train_set: Dataset | None = None
        self.heldout_sets: dict[str, Dataset] = {}
        self.test_sets: dict[str, Dataset] = {}
        self._eval_cache = EvalSetCache(eval_cache_mb, self.eval_batch_size, num_workers)
        self._provenance: dict[str, Any] | None = None
        self._train_loader: ResumableDataLoader | None = None
        self._resume_position: dict[str, int] | None = None

    # -- what the model needs -------------------------------------------------------------------

    def task_specs(self) -> list[TaskSpec]:
        """Patch tasks first, then support, then transfer tasks: the order of heads and evaluation loaders."""
        return list(self.specs)

    def set_transforms(self, train: Callable[[Any], Any], eval: Callable[[Any], Any]) -> None:
        """Sets the image transforms (done automatically from a PaintModule in ``setup``)."""
        self.train_transform, self.eval_transform = train, eval

    # -- Lightning hooks -------------------------------------------------------------------------

    def setup(self, stage: str) -> None:
        """Builds the splits needed by ``stage``."""
        module = self.trainer.lightning_module if self.trainer is not None else None
        if self.train_transform is None and module is not None and hasattr(module, "preprocess_eval"):
            self.set_transforms(module.preprocess_train, module.preprocess_eval)
        if self.train_transform is None or self.eval_transform is None:
            log.warning("No model transforms set on the DataModule; using ToTensor() only.")
            self.set_transforms(T.ToTensor(), T.ToTensor())
        tasks = self._tasks()
        if stage in ("fit", "validate") and not self.heldout_sets:
            train_parts = []
            for index, task in enumerate(tasks):
                train_idx, heldout_idx = self._splits[task.name]
                heldout_from = heldout_source_split(task)
                full_eval = task.source.dataset(heldout_from, self.eval_transform)
                self.heldout_sets[task.name] = Subset(full_eval, heldout_idx)
                self._eval_cache.register(self.heldout_sets[task.name], task.source, heldout_from, heldout_idx)
                if index < len(self.patch):
                    full_train = task.source.dataset("train", self.train_transform)
                    train_parts.append(WithTaskIndex(Subset(full_train, train_idx), index))
            self.train_set = ConcatDataset(train_parts)
        if stage in ("fit", "test") and not self.test_sets:
            for task in tasks:
                test_set = task.source.dataset("test", self.eval_transform)  # not empty: task_split checked it
                self.test_sets[task.name] = test_set
                self._eval_cache.register(test_set, task.source, "test", None)

    def train_dataloader(self) -> DataLoader:
        """Shuffled batches ``(images, labels, task_indices)`` of the patch tasks.

        Order and augmentations depend only on ``(seed, epoch, index)``, so mid-epoch resumes are
        exact (see :mod:`paint_lightning.data.resumable`).
        """
        assert self.train_set is not None, "call setup('fit') first"
        world, rank = (self.trainer.world_size, self.trainer.global_rank) if self.trainer else (1, 0)
        sizes = [len(part) for part in self.train_set.datasets]
        sampler = train_sampler(self.patch_sampling, sizes, self.train_set, world, rank, self.split_seed)
        self._train_loader = ResumableDataLoader(
            SeededItems(self.train_set, self.split_seed),
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            pin_memory=self._pin(),
            persistent_workers=self.persistent_workers and self.num_workers > 0,
            drop_last=len(self.train_set) >= self.batch_size * world,
            progress=self._progress,
        )
        if self._resume_position is not None:
            self._train_loader.load_state_dict(self._resume_position)
            self._resume_position = None
        return self._train_loader

    def state_dict(self) -> dict[str, Any]:
        """What the data was (:meth:`provenance`) and where training is in it (exact resumes)."""
        state: dict[str, Any] = {"provenance": self.provenance()}
        if self._train_loader is not None:
            state["train_position"] = self._train_loader.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Refuses a checkpoint made from other data; remembers the saved training position.

        Raises:
            DataMismatchError: Naming the split settings and tasks whose data changed.
        """
        if "provenance" in state_dict:
            check_unchanged(state_dict["provenance"], self.provenance())
        self._resume_position = state_dict.get("train_position")

    def provenance(self) -> dict[str, Any]:
        """Split settings and, per task, its role and fingerprints of its train, held-out and test data."""
        if self._provenance is None:
            roles = {spec.name: spec.role for spec in self.specs}
            self._provenance = {
                "split_seed": self.split_seed,
                "heldout_fraction": self.heldout_fraction,
                "heldout_max": self.heldout_max,
                "tasks": {
                    task.name: task_provenance(
                        task.source,
                        roles[task.name],
                        heldout_source_split(task),
                        self._splits[task.name][1],
                        ("train", "heldout", "test") if "train" in task.source.splits else ("heldout", "test"),
                    )
                    for task in self._tasks()
                },
            }
        return self._provenance

    def _progress(self) -> tuple[int, bool]:
        """Batches of the current epoch that training has processed, and whether that is all."""
        if self.trainer is None:
            return 0, False
        done = self.trainer.fit_loop.epoch_loop.batch_progress.current.processed
        return done, done >= self.trainer.num_training_batches

    def val_dataloader(self) -> list[DataLoader]:
        """One loader of ``(images, labels)`` per held-out set, in :meth:`task_specs` order.

        None in a ``fit`` whose sweep measures them (see :func:`replaces_validation`).
        """
        if self.trainer is not None and replaces_validation(self.trainer):
            return []
        sets = self.cached_heldout_sets()
        return [self.eval_dataloader(sets[spec.name]) for spec in self.specs]

    def test_dataloader(self) -> list[DataLoader]:
        """One loader per test set, in :meth:`task_specs` order."""
        sets = self.cached_test_sets()
        return [self.eval_dataloader(sets[spec.name]) for spec in self.specs]

    # -- shared by validation, the sweep and the final report -----------------------------------

    def eval_dataloader(self, dataset: Dataset) -> DataLoader:
        """An in-order loader over ``dataset``, sharded across processes in equal shards.

        Every process gets the same number of batches of the same sizes (under FSDP every forward is
        a collective); shorter shards are padded with placeholder items labelled ``IGNORE_LABEL``
        (see :class:`~paint_lightning.data.samplers.EvenShardSampler`), which evaluation counts skip.
        Over a set cached as uint8, batches are :class:`~paint_lightning.data.cache.ByteBatch` es,
        finished on the device (by the sweep, and by :class:`FinishesOnDevice` in Lightning's loops).
        """
        world, rank = 1, 0
        if self.trainer is not None:
            world, rank = self.trainer.world_size, self.trainer.global_rank
        sampler = EvenShardSampler(dataset, num_replicas=world, rank=rank)
        if isinstance(dataset, TensorDataset):  # already decoded: batches are slices (uint8 ones: ByteBatch)
            return batch_loader(dataset, self.eval_batch_size, sampler, self._pin())
        return DataLoader(
            PlaceholderItems(dataset),
            batch_size=self.eval_batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            pin_memory=self._pin(),
        )

    def cached_heldout_sets(self) -> dict[str, Dataset]:
        """Held-out sets, decoded into memory (once) where the budget allows."""
        return self._cached(self.heldout_sets)

    def cached_test_sets(self) -> dict[str, Dataset]:
        """Test sets, decoded into memory (once) where the budget allows."""
        return self._cached(self.test_sets)

    # -- internals -------------------------------------------------------------------------------

    def _tasks(self) -> list[Task]:
        return [*self.patch, *self.support, *self.transfer]

    def _fields(self) -> list[tuple[str, Role, Task]]:
        groups: tuple[tuple[Role, list[Task]], ...] = (
            ("patch", self.patch),
            ("support", self.support),
            ("transfer", self.transfer),
        )
        return [(f"data.{role}[{i}]", role, task) for role, tasks in groups for i, task in enumerate(tasks)]

    def _resolve_specs(self) -> list[TaskSpec]:
        return resolve_tasks(self._fields())

    def _split(self, task: Task, field: str) -> tuple[list[int], list[int]]:
        return task_split(task, field, self.heldout_fraction, self.heldout_max, self.split_seed)

    def _pin(self) -> bool:
        if self.pin_memory is not None:
            return self.pin_memory
        return self.trainer is not None and self.trainer.strategy.root_device.type == "cuda"

    def _cached(self, sets: dict[str, Dataset]) -> dict[str, Dataset]:
        return self._eval_cache.cached(sets, self.eval_transform)
