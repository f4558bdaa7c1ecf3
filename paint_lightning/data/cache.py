"""Evaluation sets held in memory as preprocessed tensors.

Evaluation transforms are deterministic, so an evaluation set can be decoded once and reused by
every validation epoch and every pass of the alpha sweep.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from paint_lightning.rng import preserved_rng


class TensorDataset(Dataset):
    """Images and labels as two tensors.

    ``__getitems__`` returns whole batches as slices, so loaders over it need
    ``collate_fn=collate_batched`` (what ``PaintDataModule.eval_dataloader`` uses).
    """

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return self.images[index], self.labels[index]

    def nbytes(self) -> int:
        """Memory held, in bytes."""
        return self.images.nbytes + self.labels.nbytes


def collate_batched(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """``collate_fn`` for :class:`TensorDataset`, whose ``__getitems__`` already batches."""
    return batch


def item_nbytes(dataset: Dataset) -> int:
    """Bytes one preprocessed item takes (from the first item)."""
    image, _ = dataset[0]
    return image.nbytes if isinstance(image, Tensor) else 0


def materialize(dataset: Dataset, batch_size: int, num_workers: int) -> TensorDataset:
    """Decodes and transforms ``dataset`` once into a :class:`TensorDataset`."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, shuffle=False)
    images, labels = [], []
    with preserved_rng():
        for batch_images, batch_labels in loader:
            images.append(batch_images)
            labels.append(torch.as_tensor(batch_labels))
    return TensorDataset(torch.cat(images), torch.cat(labels).long())
