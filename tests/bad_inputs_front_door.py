"""Bad inputs at the front door (issue 18): cases that gave a wrong experiment or a misleading answer.

Part of ``CASES`` in :mod:`tests.test_bad_inputs` (and so of the table in docs/bad-inputs.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from paint_lightning import CLIPSource, ImageFolderSource, PaintDataModule, Task
from paint_lightning.commands.export import given_mix
from paint_lightning.commands.failures import UserError
from paint_lightning.commands.paths import check_output_dir
from paint_lightning.models.clip_source import build_clip
from paint_lightning.models.hparams import validate_hparams
from tests.conftest import TINY_CONFIG


def _test_folder_is_the_train_folder(tmp: Path) -> None:
    for name in ("cat", "dog"):
        (tmp / "train" / name).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(tmp / "train" / name / f"{i}.png")
    os.symlink(tmp / "train", tmp / "test")
    PaintDataModule(patch=[Task(name="pets", source=ImageFolderSource(str(tmp)))], num_workers=0)


def _text_file_as_weights(tmp: Path) -> None:
    path = tmp / "weights.pt"
    path.write_text("these are my notes, not weights\n")
    build_clip(CLIPSource(config=TINY_CONFIG, pretrained=str(path)), "model.clip")


def _output_under_a_file(tmp: Path) -> None:
    (tmp / "notes.txt").write_text("a file\n")
    check_output_dir(tmp / "notes.txt" / "runs", "--trainer.default_root_dir")


def _lr(value: float) -> Callable[[Path], Any]:
    return lambda t: validate_hparams(value, 0.1, 0, "cosine", 0.0, None)


FRONT_DOOR_CASES: list[tuple[str, Callable[[Path], Any], type[BaseException], str]] = [
    (
        "test images that are also training or held-out images",
        _test_folder_is_the_train_folder,
        ValueError,
        r"task 'pets'.*train.*test.*share",
    ),
    (
        "zoo model name without weights",
        lambda t: build_clip(CLIPSource(name="ViT-B-32"), "model.clip"),
        ValueError,
        r"model\.clip\.name='ViT-B-32' without model\.clip\.pretrained.*random_init: true",
    ),
    (
        "alpha outside [0, 1] for export or predict",
        lambda t: given_mix(1.5, None),
        ValueError,
        r"--alpha=1\.5.*--allow_extrapolation",
    ),
    ("text file given as weights", _text_file_as_weights, ValueError, r"weights\.pt.*text"),
    (
        "output folder under a regular file",
        _output_under_a_file,
        UserError,
        r"--trainer\.default_root_dir=.*notes\.txt",
    ),
    ("learning rate that is not a number", _lr(float("nan")), ValueError, r"model\.lr=nan: must be a finite positive"),
]
