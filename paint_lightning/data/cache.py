"""Evaluation sets held in memory as preprocessed tensors.

Evaluation transforms are deterministic, so an evaluation set can be decoded once and reused by
every validation epoch and every pass of the alpha sweep. When the transform ends in
``ToTensor()`` (+ ``Normalize``), as open_clip's does, images are kept as uint8 (4x smaller), and
batches stay uint8 until they are on the device: a loader yields a :class:`ByteBatch` (4x fewer
bytes to move than float32), and :func:`to_device` (the sweep) or :func:`finished` (Lightning's
loops, after the transfer) converts it there with the very same operations (:class:`ToFloat`), so
images are bit for bit those the transform would have produced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, Subset
from torchvision import transforms as T

from paint_lightning.data.samplers import IGNORE_LABEL, PLACEHOLDER
from paint_lightning.rng import preserved_rng


class ToFloat:
    """The float half of ``ToTensor()`` (+ ``Normalize``), applied to a uint8 batch on any device.

    The one definition of how a cached uint8 batch becomes what the transform would have given,
    wherever that happens (on the host, or on the device after the transfer): ``ToTensor``'s
    ``float / 255`` and ``Normalize``'s ``(x - mean) / std``, all true divisions by tensors. (A
    Python number as divisor makes CUDA multiply by its reciprocal instead, which changes the last
    bit of 126 of the 256 pixel values; torchvision's ``normalize`` would also copy ``mean`` and
    ``std`` to the device, and check ``std``, with a host sync per batch.) The constants are made
    once per device.
    """

    def __init__(self, normalize: T.Normalize | None) -> None:
        self.normalize = normalize
        if normalize is not None and any(float(s) == 0 for s in torch.as_tensor(normalize.std).flatten()):
            raise ValueError(
                f"the eval transform's {normalize} has a zero std: images would be divided by zero. "
                "Give every channel a positive std (model.clip.image_std)."
            )
        self._constants: dict[tuple[torch.device, torch.dtype], tuple[Tensor, Tensor | None, Tensor | None]] = {}

    def __call__(self, images: Tensor) -> Tensor:
        """uint8 ``(..., C, H, W)`` -> what ``ToTensor()`` (+ ``Normalize``) would have given, bit for bit."""
        dtype = torch.get_default_dtype()
        scale, mean, std = self._on(images.device, dtype)
        images = images.to(dtype).div(scale)
        return images.sub(mean).div(std) if mean is not None and std is not None else images

    def _on(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor | None, Tensor | None]:
        key = (device, dtype)
        if key not in self._constants:
            scale = torch.full((), 255.0, dtype=dtype, device=device)
            mean = std = None
            if self.normalize is not None:  # as torchvision's normalize shapes them
                mean = torch.as_tensor(self.normalize.mean, dtype=dtype, device=device)
                std = torch.as_tensor(self.normalize.std, dtype=dtype, device=device)
                mean = mean.view(-1, 1, 1) if mean.ndim == 1 else mean
                std = std.view(-1, 1, 1) if std.ndim == 1 else std
            self._constants[key] = (scale, mean, std)
        return self._constants[key]

    def __getstate__(self) -> dict[str, Any]:
        return {"normalize": self.normalize}  # device constants are remade where it is used

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["normalize"])  # type: ignore[misc]


class ByteBatch(NamedTuple):
    """A batch of a uint8-cached set, still to be finished: moved as uint8, converted after the move.

    Moving it (Lightning's ``transfer_batch_to_device``, ``torch`` pinning) moves both tensors and
    keeps ``finish``; :func:`to_device` and :func:`finished` apply ``finish``.
    """

    images: Tensor  # uint8 (N, C, H, W)
    labels: Tensor
    finish: Callable[[Tensor], Tensor]  # a ToFloat


def finished(batch: Any) -> Any:
    """``(images, labels)`` with the images finished where ``batch`` is a :class:`ByteBatch`, else ``batch``."""
    if isinstance(batch, ByteBatch):
        return batch.finish(batch.images), batch.labels
    return batch


def to_device(batch: Sequence[Any], device: torch.device) -> tuple[Tensor, Tensor]:
    """A loader's ``(images, labels, ...)`` batch on ``device`` (non-blocking), images finished there."""
    images = batch[0].to(device, non_blocking=True)
    if isinstance(batch, ByteBatch):
        images = batch.finish(images)
    return images, torch.as_tensor(batch[1]).to(device, non_blocking=True)


class FinishesOnDevice:
    """``LightningDataModule`` hook: finishes :class:`ByteBatch` es once Lightning has moved them.

    The precision plugin converted the batch before the transfer, while it was uint8 (a no-op);
    it converts the finished images now (e.g. to bf16 under ``bf16-true``). Other batches pass.
    """

    def on_after_batch_transfer(self: Any, batch: Any, dataloader_idx: int) -> Any:
        """``batch``, finished on the device where it is a :class:`ByteBatch`."""
        if isinstance(batch, ByteBatch):
            return self.trainer.precision_plugin.convert_input(finished(batch))
        return batch


class TensorDataset(Dataset):
    """Images and labels as two tensors.

    ``__getitems__`` returns whole batches as slices (a :class:`ByteBatch` when ``finish`` is
    given), so loaders over it need ``collate_fn=collate_batched`` (see :func:`batch_loader`).
    Single items (``dataset[i]``) come finished, as the transform gives them.
    """

    def __init__(self, images: Tensor, labels: Tensor, finish: Callable[[Tensor], Tensor] | None = None) -> None:
        self.images = images
        self.labels = labels
        self.finish = finish

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return finished(self.__getitems__([index]))[0][0], self.labels[index]

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, Tensor] | ByteBatch:
        index = torch.as_tensor(indices, dtype=torch.long)
        placeholder = index == PLACEHOLDER  # see paint_lightning.data.samplers
        index = index.clamp(min=0)
        labels = torch.where(placeholder, IGNORE_LABEL, self.labels[index])
        if self.finish is None:
            return self.images[index], labels
        return ByteBatch(self._rows(index), labels, self.finish)

    def _rows(self, index: Tensor) -> Tensor:
        """uint8 images at ``index``: a view (no copy, pinned when the cache is) where they are consecutive.

        A view is safe here: the finish never writes into its input.
        """
        n = int(index.numel())
        if n > 1 and bool((index.diff() == 1).all()):
            start = int(index[0])
            return self.images[start : start + n]
        return self.images[index]

    def pin(self) -> None:
        """Page-locks the uint8 images (once, with CUDA), so batches cross to the GPU without a host copy."""
        if self.finish is not None and torch.cuda.is_available() and not self.images.is_pinned():
            self.images = self.images.pin_memory()

    def nbytes(self) -> int:
        """Memory held, in bytes."""
        return self.images.nbytes + self.labels.nbytes


def thinned(dataset: Dataset, limit: int | None) -> Dataset:
    """Every k-th item of ``dataset``, k the smallest stride that leaves at most ``limit`` items (all for ``None``).

    Deterministic and spread over the whole set (held-out sets come in a fixed order), so a
    partial sweep sees the same images every time. A :class:`TensorDataset` stays one (a small copy).
    """
    size = len(dataset)  # type: ignore[arg-type]
    if limit is None or size <= limit:
        return dataset
    stride = -(-size // max(limit, 1))
    if isinstance(dataset, TensorDataset):
        images, labels = dataset.images[::stride].contiguous(), dataset.labels[::stride].contiguous()
        return TensorDataset(images, labels, dataset.finish)
    return Subset(dataset, range(0, size, stride))


def collate_batched(batch: tuple[Tensor, Tensor] | ByteBatch) -> tuple[Tensor, Tensor] | ByteBatch:
    """``collate_fn`` for :class:`TensorDataset`, whose ``__getitems__`` already batches."""
    return batch


def batch_loader(dataset: TensorDataset, batch_size: int, sampler: Sampler, pin: bool) -> DataLoader:
    """An in-process loader of slices of ``dataset`` (worker processes would only add copies).

    With ``pin``, uint8 images are page-locked once here, so batches are not copied on the host.
    """
    if pin:
        dataset.pin()
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate_batched, pin_memory=pin)


def item_nbytes(dataset: Dataset) -> int:
    """Bytes one preprocessed item takes (from the first item)."""
    image, _ = dataset[0]
    return image.nbytes if isinstance(image, Tensor) else 0


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

    With ``finish`` (see :func:`byte_transform`), ``dataset`` yields uint8 images and batches read
    from the result are :class:`ByteBatch` es to be finished on the device.
    """
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, shuffle=False)
    images, labels = [], []
    with preserved_rng():
        for batch_images, batch_labels in loader:
            images.append(batch_images)
            labels.append(torch.as_tensor(batch_labels))
    return TensorDataset(torch.cat(images), torch.cat(labels).long(), finish)
