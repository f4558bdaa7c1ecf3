"""The DataModule of a patching run: patch tasks to train on, support tasks to protect."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset
from torchvision import transforms as T

from paint_lightning.data.cache import TensorDataset, byte_transform, collate_batched, item_nbytes, materialize
from paint_lightning.data.resumable import EpochSampler, ResumableDataLoader, SeededItems
from paint_lightning.data.samplers import UnpaddedDistributedSampler
from paint_lightning.data.sources import ImageSource, Split
from paint_lightning.data.splits import heldout_split, stable_seed
from paint_lightning.data.tasks import Task, TaskSpec, resolve_task

log = logging.getLogger(__name__)


class PaintDataModule(LightningDataModule):
    """Patch and support tasks, with seeded held-out splits for choosing alpha.

    Training uses the patch tasks' train splits minus their held-out part (several patch tasks are
    trained jointly: batches mix tasks and every sample is scored by its own task's head). Each
    task, patch or support, gets a held-out split carved from its train split (``heldout_fraction``
    of it, at most ``heldout_max`` images, chosen by ``split_seed`` and the task name); held-out
    sets drive validation and the alpha sweep. Test splits serve only the final report.

    Image transforms come from the model (open_clip's train and eval preprocessing) when the
    DataModule is used with a :class:`~paint_lightning.PaintModule`.

    Args:
        patch: Tasks to patch (fine-tune on).
        support: Tasks whose zero-shot accuracy must be kept.
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
    """

    def __init__(
        self,
        patch: list[Task],
        support: list[Task] | None = None,
        batch_size: int = 128,
        eval_batch_size: int | None = None,
        num_workers: int = 2,
        heldout_fraction: float = 0.1,
        heldout_max: int = 5000,
        split_seed: int = 0,
        eval_cache_mb: int = 1024,
        pin_memory: bool | None = None,
        persistent_workers: bool = True,
    ) -> None:
        super().__init__()
        if not patch:
            raise ValueError("data.patch is empty: give at least one task to patch.")
        if batch_size < 1:
            raise ValueError(f"data.batch_size={batch_size}: must be at least 1.")
        if not 0.0 < heldout_fraction < 1.0:
            raise ValueError(
                f"data.heldout_fraction={heldout_fraction}: must be in (0, 1); alpha is chosen on "
                "the held-out split, so it cannot be empty (0.1 is the usual choice)."
            )
        self.patch = list(patch)
        self.support = list(support or [])
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.heldout_fraction = heldout_fraction
        self.heldout_max = heldout_max
        self.split_seed = split_seed
        self.eval_cache_mb = eval_cache_mb
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers
        self.specs = self._resolve_specs()
        # Split sizes are checked now, before anything expensive (model download, training) runs.
        self._splits = {
            task.name: self._split(task, field)
            for field, task in [
                *((f"data.patch[{i}]", t) for i, t in enumerate(self.patch)),
                *((f"data.support[{i}]", t) for i, t in enumerate(self.support)),
            ]
        }
        self.train_transform: Callable[[Any], Any] | None = None
        self.eval_transform: Callable[[Any], Any] | None = None
        self.train_set: Dataset | None = None
        self.heldout_sets: dict[str, Dataset] = {}
        self.test_sets: dict[str, Dataset] = {}
        self._decoded: dict[int, TensorDataset] = {}  # id(dataset) -> its decoded copy
        self._recipes: dict[int, tuple[ImageSource, Split, list[int] | None]] = {}  # id(dataset) -> how to rebuild it
        self._train_loader: ResumableDataLoader | None = None
        self._resume_position: dict[str, int] | None = None

    # -- what the model needs -------------------------------------------------------------------

    def task_specs(self) -> list[TaskSpec]:
        """Patch tasks first, then support tasks: the order of heads and evaluation loaders."""
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
        tasks = [*self.patch, *self.support]
        if stage in ("fit", "validate") and not self.heldout_sets:
            train_parts = []
            for index, task in enumerate(tasks):
                train_idx, heldout_idx = self._splits[task.name]
                full_eval = task.source.dataset(task.heldout_from, self.eval_transform)
                self.heldout_sets[task.name] = Subset(full_eval, heldout_idx)
                self._recipes[id(self.heldout_sets[task.name])] = (task.source, task.heldout_from, heldout_idx)
                if index < len(self.patch):
                    full_train = task.source.dataset("train", self.train_transform)
                    train_parts.append(_WithTaskIndex(Subset(full_train, train_idx), index))
            self.train_set = ConcatDataset(train_parts)
        if stage in ("fit", "test") and not self.test_sets:
            for task in tasks:
                test_set = task.source.dataset("test", self.eval_transform)
                if len(test_set) == 0:
                    raise ValueError(f"task {task.name!r}: the test split of its source is empty.")
                self.test_sets[task.name] = test_set
                self._recipes[id(test_set)] = (task.source, "test", None)

    def train_dataloader(self) -> DataLoader:
        """Shuffled batches ``(images, labels, task_indices)`` of the patch tasks.

        Order and augmentations depend only on ``(seed, epoch, index)``, so mid-epoch resumes are
        exact (see :mod:`paint_lightning.data.resumable`).
        """
        assert self.train_set is not None, "call setup('fit') first"
        world, rank = (self.trainer.world_size, self.trainer.global_rank) if self.trainer else (1, 0)
        sampler = EpochSampler(self.train_set, world, rank, seed=self.split_seed)
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
        """Where training is in the data, for exact mid-epoch resumes."""
        return {"train_position": self._train_loader.state_dict()} if self._train_loader is not None else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Remembers the saved position; the next ``train_dataloader()`` starts there."""
        self._resume_position = state_dict.get("train_position")

    def _progress(self) -> tuple[int, bool]:
        """Batches of the current epoch that training has processed, and whether that is all."""
        if self.trainer is None:
            return 0, False
        done = self.trainer.fit_loop.epoch_loop.batch_progress.current.processed
        return done, done >= self.trainer.num_training_batches

    def val_dataloader(self) -> list[DataLoader]:
        """One loader of ``(images, labels)`` per held-out set, in :meth:`task_specs` order."""
        sets = self.cached_heldout_sets()
        return [self.eval_dataloader(sets[spec.name]) for spec in self.specs]

    def test_dataloader(self) -> list[DataLoader]:
        """One loader per test set, in :meth:`task_specs` order."""
        sets = self.cached_test_sets()
        return [self.eval_dataloader(sets[spec.name]) for spec in self.specs]

    # -- shared by validation, the sweep and the final report -----------------------------------

    def eval_dataloader(self, dataset: Dataset) -> DataLoader:
        """An in-order loader over ``dataset``, sharded across processes without padding."""
        world, rank = 1, 0
        if self.trainer is not None:
            world, rank = self.trainer.world_size, self.trainer.global_rank
        sampler = UnpaddedDistributedSampler(dataset, num_replicas=world, rank=rank)
        if isinstance(dataset, TensorDataset):
            # Already decoded: batches are slices; worker processes would only add copies.
            return DataLoader(
                dataset,
                batch_size=self.eval_batch_size,
                sampler=sampler,
                collate_fn=collate_batched,
                pin_memory=self._pin(),
            )
        return DataLoader(
            dataset,
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

    def _resolve_specs(self) -> list[TaskSpec]:
        specs = [resolve_task(t, "patch", f"data.patch[{i}]") for i, t in enumerate(self.patch)]
        specs += [resolve_task(t, "support", f"data.support[{i}]") for i, t in enumerate(self.support)]
        names = [spec.name for spec in specs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(
                f"task names {duplicates} are used twice in data.patch/data.support; names must be unique."
            )
        return specs

    def _split(self, task: Task, field: str) -> tuple[list[int], list[int]]:
        size = len(task.source.dataset("train", None))
        if size == 0:
            raise ValueError(
                f"{field} (task {task.name!r}): the train split of {type(task.source).__name__} is empty; "
                f"point {field}.source at data (held-out images for choosing alpha come from it)."
            )
        if size < 2:
            raise ValueError(
                f"{field} (task {task.name!r}): {size} training image cannot give both a training and a "
                "held-out split; give the task more images."
            )
        seed = stable_seed(self.split_seed, task.name)
        if task.heldout_from == "val":
            # The official validation split, capped at heldout_max images (a seeded subset).
            val_size = len(task.source.dataset("val", None))
            if val_size == 0:
                raise ValueError(
                    f"{field} (task {task.name!r}): the val split of {type(task.source).__name__} is empty."
                )
            chosen = torch.randperm(val_size, generator=torch.Generator().manual_seed(seed))[: self.heldout_max]
            return list(range(size)), sorted(chosen.tolist())
        return heldout_split(size, self.heldout_fraction, self.heldout_max, seed)

    def _pin(self) -> bool:
        if self.pin_memory is not None:
            return self.pin_memory
        return self.trainer is not None and self.trainer.strategy.root_device.type == "cuda"

    def _cached(self, sets: dict[str, Dataset]) -> dict[str, Dataset]:
        budget = self.eval_cache_mb * 2**20 - sum(d.nbytes() for d in self._decoded.values())
        out: dict[str, Dataset] = {}
        for name, dataset in sets.items():
            decoded = self._decoded.get(id(dataset))
            if decoded is None and len(dataset) > 0:
                source, finish = self._decodable(dataset)
                if item_nbytes(source) * len(source) <= budget:
                    decoded = materialize(source, self.eval_batch_size, self.num_workers, finish)
                    self._decoded[id(dataset)] = decoded
                    budget -= decoded.nbytes()
            out[name] = decoded if decoded is not None else dataset
        return out

    def _decodable(self, dataset: Dataset) -> tuple[Dataset, Any]:
        """The dataset to decode into memory (uint8 when the eval transform allows) and its finish."""
        split = byte_transform(self.eval_transform)
        recipe = self._recipes.get(id(dataset))
        if split is None or recipe is None:
            return dataset, None
        source, name, indices = recipe
        raw = source.dataset(name, split[0])
        raw = Subset(raw, indices) if indices is not None else raw
        try:
            image, _ = raw[0]
        except TypeError:  # the source yields tensors, not PIL images
            return dataset, None
        if not isinstance(image, torch.Tensor) or image.dtype != torch.uint8:
            return dataset, None
        return raw, split[1]


class _WithTaskIndex(Dataset):
    """Appends the task's index to every ``(image, label)`` item."""

    def __init__(self, dataset: Dataset, task_index: int) -> None:
        self.dataset = dataset
        self.task_index = task_index

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Any, int, int]:
        image, label = self.dataset[index]
        return image, label, self.task_index
