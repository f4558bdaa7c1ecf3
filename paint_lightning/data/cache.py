"""Evaluation sets held in memory as preprocessed tensors.

Evaluation transforms are deterministic, so an evaluation set can be decoded once and reused by
every validation epoch and every pass of the alpha sweep. When the transform ends in
``ToTensor()`` (+ ``Normalize``), as open_clip's does, images are kept as uint8 (4x smaller) and
each batch is converted with the very same operations on the way out, so batches are bit for bit
those the transform would have produced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import transforms as T

from paint_lightning.data.samplers import IGNORE_LABEL, PLACEHOLDER
from paint_lightning.rng import preserved_rng


class TensorDataset(Dataset):
    """Images and labels as two tensors.

    ``__getitems__`` returns whole batches as slices, so loaders over it need
    ``collate_fn=collate_batched`` (what ``PaintDataModule.eval_dataloader`` uses).
    """

    def __init__(self, images: Tensor, labels: Tensor, finish: Callable[[Tensor], Tensor] | None = None) -> None:
        self.images = images
        self.labels = labels
        self.finish = finish

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.__getitems__([index])[0][0], self.labels[index]

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        placeholder = index == PLACEHOLDER  # see paint_lightning.data.samplers
        index = index.clamp(min=0)
        images = self.images[index]
        labels = torch.where(placeholder, IGNORE_LABEL, self.labels[index])
        return (self.finish(images) if self.finish else images), labels

    def nbytes(self) -> int:
        """Memory held, in bytes."""
        return self.images.nbytes + self.labels.nbytes


def thinned(dataset: Dataset, limit: int | None) -> Dataset:
    """Every k-th item of ``dataset``, k the smallest stride that leaves at most ``limit`` items (all for ``None``).

    Deterministic and spread over the whole set (held-out sets come in a fixed order), so a
    partial sweep sees the same images every time. A :class:`TensorDataset` stays one (views).
    """
    size = len(dataset)  # type: ignore[arg-type]
    if limit is None or size <= limit:
        return dataset
    stride = -(-size // max(limit, 1))
    if isinstance(dataset, TensorDataset):
        return TensorDataset(dataset.images[::stride], dataset.labels[::stride], dataset.finish)
    return Subset(dataset, range(0, size, stride))


def collate_batched(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """``collate_fn`` for :class:`TensorDataset`, whose ``__getitems__`` already batches."""
    return batch


def item_nbytes(dataset: Dataset) -> int:
    """Bytes one preprocessed item takes (from the first item)."""
    image, _ = dataset[0]
    return image.nbytes if isinstance(image, Tensor) else 0


class ToFloat:
    """The float half of ``ToTensor()`` (+ ``Normalize``), applied to a uint8 batch."""

    def __init__(self, normalize: T.Normalize | None) -> None:
        self.normalize = normalize

    def __call__(self, images: Tensor) -> Tensor:
        """uint8 ``(..., C, H, W)`` -> what ``ToTensor()`` (+ ``Normalize``) would have given."""
        images = images.to(torch.get_default_dtype()).div(255)
        return self.normalize(images) if self.normalize is not None else images


def byte_transform(transform: Any) -> tuple[Callable[[Any], Tensor], ToFloat] | None:
    """Splits ``[..., ToTensor(), Normalize?]`` into a uint8 stage and its float finish.

    Returns ``None`` when the transform does not end that way (then images are cached as floats).
    """
    steps = list(transform.transforms) if isinstance(transform, T.Compose) else [transform]
    normalize = steps.pop() if steps and isinstance(steps[-1], T.Normalize) else None
    if not steps or not isinstance(steps[-1], T.ToTensor):  # open_clip's MaybeToTensor is one
        return None
    return T.Compose([*steps[:-1], T.PILToTensor()]), ToFloat(normalize)


def materialize(
    dataset: Dataset, batch_size: int, num_workers: int, finish: Callable[[Tensor], Tensor] | None = None
) -> TensorDataset:
    """Decodes and transforms ``dataset`` once into a :class:`TensorDataset`.

    ``finish`` is applied to every batch read from it (see :func:`byte_transform`).
    """
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, shuffle=False)
    images, labels = [], []
    with preserved_rng():
        for batch_images, batch_labels in loader:
            images.append(batch_images)
            labels.append(torch.as_tensor(batch_labels))
    return TensorDataset(torch.cat(images), torch.cat(labels).long(), finish)
