"""Cached uint8 evaluation sets cross to the device as uint8 and are finished there, bit for bit."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from lightning.pytorch import LightningDataModule, Trainer

from paint_lightning.data.cache import ByteBatch, TensorDataset, ToFloat, finished, to_device
from paint_lightning.engine import Sweeper
from paint_lightning.interpolation import Mix
from tests.conftest import tiny_datamodule, tiny_module

MIXES = [Mix.of(a) for a in (0.0, 0.5, 1.0)]


def _trainer(precision: str = "32-true") -> Trainer:
    return Trainer(
        accelerator="cpu",
        devices=1,
        precision=precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def _validate(eval_cache_mb: int, precision: str) -> tuple[Any, list[tuple[type, torch.dtype]]]:
    """The live weights' held-out counts, and (type, image dtype) of every batch handed to the transfer."""
    module, datamodule = tiny_module(), tiny_datamodule(eval_cache_mb=eval_cache_mb)
    moved: list[tuple[type, torch.dtype]] = []

    def spy(batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        moved.append((type(batch), batch[0].dtype))
        return LightningDataModule.transfer_batch_to_device(datamodule, batch, device, dataloader_idx)

    datamodule.transfer_batch_to_device = spy  # type: ignore[method-assign]
    _trainer(precision).validate(module, datamodule, verbose=False)
    return module.last_eval, moved


@pytest.mark.parametrize("precision", ["32-true", "bf16-true"])
def test_validate_moves_uint8_and_counts_exactly_as_float_batches(precision: str) -> None:
    cached, moved = _validate(1024, precision)
    assert moved and all(kind is ByteBatch and dtype == torch.uint8 for kind, dtype in moved)
    decoded, moved_floats = _validate(0, precision)  # no cache: the transform's float batches, as before
    assert moved_floats and all(dtype != torch.uint8 for _, dtype in moved_floats)
    assert cached == decoded  # correct, total and summed loss, per task
    assert sum(cached.total.values()) > 0


def test_sweep_moves_uint8_and_counts_exactly_as_host_finished_batches() -> None:
    module, datamodule = tiny_module(), tiny_datamodule()
    datamodule.set_transforms(module.preprocess_train, module.preprocess_eval)
    datamodule.setup("fit")
    module.set_tasks(datamodule.task_specs())
    sets = datamodule.cached_heldout_sets()
    assert all(isinstance(s, TensorDataset) and s.images.dtype == torch.uint8 for s in sets.values())
    moved: list[Any] = []

    def spying(loader: Any) -> Any:
        for batch in loader:
            moved.append(batch)
            yield batch

    sweeper = Sweeper(module, "cpu", 1 << 20)
    on_device = sweeper.count({n: spying(datamodule.eval_dataloader(s)) for n, s in sets.items()}, MIXES)
    assert moved and all(isinstance(b, ByteBatch) and b.images.dtype == torch.uint8 for b in moved)
    on_host = sweeper.count({n: [finished(b) for b in datamodule.eval_dataloader(s)] for n, s in sets.items()}, MIXES)
    assert torch.equal(on_device.correct, on_host.correct) and torch.equal(on_device.loss, on_host.loss)
    assert torch.equal(on_device.total, on_host.total) and int(on_device.total.sum()) > 0


def test_consecutive_batches_are_views_of_the_cache_and_finish_like_the_rows() -> None:
    images = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8)
    data = TensorDataset(images, torch.arange(10), finish=ToFloat(None))
    batch = data.__getitems__([2, 3, 4])
    assert isinstance(batch, ByteBatch) and batch.images.data_ptr() == images[2].data_ptr()  # no host copy
    scattered = data.__getitems__([4, 2, -1])  # -1: a placeholder (see samplers)
    assert scattered.labels.tolist() == [4, 2, -100] and torch.equal(scattered.images[0], images[4])
    moved, labels = to_device(batch, torch.device("cpu"))
    assert torch.equal(moved, images[2:5].float().div(255)) and labels.tolist() == [2, 3, 4]
    assert torch.equal(data[3][0], moved[1])  # single items come finished


def test_a_batch_left_uint8_is_refused_by_the_model() -> None:
    module = tiny_module()
    module.set_tasks(tiny_datamodule().task_specs())
    module.on_validation_epoch_start()
    batch = ByteBatch(torch.zeros(2, 3, 16, 16, dtype=torch.uint8), torch.zeros(2, dtype=torch.long), None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"FinishesOnDevice"):
        module.validation_step(batch, 0)


def test_to_float_is_to_tensor_and_normalize_bit_for_bit_for_every_pixel_value() -> None:
    import pickle

    import numpy as np
    from PIL import Image
    from torchvision import transforms as T

    normalize = T.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
    pixels = np.stack([np.arange(256, dtype=np.uint8).reshape(16, 16)] * 3, axis=-1)  # every value, every channel
    expected = T.Compose([T.ToTensor(), normalize])(Image.fromarray(pixels))
    raw = T.PILToTensor()(Image.fromarray(pixels))[None]
    finish = pickle.loads(pickle.dumps(ToFloat(normalize)))  # device constants are not pickled
    assert torch.equal(finish(raw)[0], expected) and torch.equal(finish(raw)[0], expected)  # constants reused
    assert torch.equal(ToFloat(None)(raw)[0], T.ToTensor()(Image.fromarray(pixels)))
    with pytest.raises(ValueError, match=r"zero std.*model.clip.image_std"):
        ToFloat(T.Normalize((0.5, 0.5, 0.5), (0.2, 0.0, 0.2)))
