"""A checkpoint is used only with the tasks and data it was made from."""

import pytest
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint

from paint_lightning import InterpolationSweep, PaintDataModule, Task
from paint_lightning.data.synthetic import ColourPatchSource
from tests.callbacks.helpers import fit_tiny
from tests.conftest import tiny_module

ALPHAS = [0.0, 0.5, 1.0]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("run")
    callbacks = [InterpolationSweep(alphas=ALPHAS, final_test=False, export=False), ModelCheckpoint(root / "ckpt")]
    trainer, *_ = fit_tiny(root, callbacks, epochs=1, enable_checkpointing=True)
    return trainer.checkpoint_callback.best_model_path


def _datamodule(patch_seed: int = 1, classnames: list[str] | None = None, extra: bool = False, **kwargs):
    kwargs.setdefault("batch_size", 16)
    kwargs.setdefault("num_workers", 0)
    kwargs.setdefault("heldout_fraction", 0.25)
    patch = Task("patches", ColourPatchSource(4, 64, 32, seed=patch_seed), classnames=classnames, templates=["a {}."])
    support = [Task("other", ColourPatchSource(3, 40, 24, seed=2))]
    if extra:
        support.append(Task("extra", ColourPatchSource(2, 20, 10, seed=5)))
    return PaintDataModule(patch=[patch], support=support, **kwargs)


def _run(tmp_path, stage: str, checkpoint: str, datamodule: PaintDataModule) -> Trainer:
    trainer = Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        max_epochs=2,
        callbacks=[InterpolationSweep(alphas=ALPHAS, final_test=False, export=False)],
    )
    getattr(trainer, stage)(tiny_module(seed=7), datamodule, ckpt_path=checkpoint, weights_only=True)
    return trainer


@pytest.mark.parametrize("stage", ["test", "validate", "fit"])
def test_changed_class_names_are_refused(checkpoint, tmp_path, stage) -> None:
    renamed = _datamodule(classnames=["crimson", "green", "blue", "yellow"])
    with pytest.raises(ValueError, match=r"task 'patches': class names differ from position 0 \('class 0'"):
        _run(tmp_path, stage, checkpoint, renamed)


def test_another_split_seed_is_refused(checkpoint, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"data.split_seed: 0 in the checkpoint, 1 now"):
        _run(tmp_path, "validate", checkpoint, _datamodule(split_seed=1))


def test_changed_images_are_refused(checkpoint, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"task 'patches': the train images or labels changed"):
        _run(tmp_path, "fit", checkpoint, _datamodule(patch_seed=3))


def test_the_same_data_and_a_new_task_are_accepted(checkpoint, tmp_path) -> None:
    trainer = _run(tmp_path, "test", checkpoint, _datamodule(extra=True))
    result = trainer.callbacks[0].test_result
    assert set(result["tasks"]) == {"patches", "other", "extra"}
