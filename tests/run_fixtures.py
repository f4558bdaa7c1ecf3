"""One tiny `paint fit` run (QuickGELU, own preprocessing, a zero-shot file) shared by command and dashboard tests."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from paint_lightning.commands.cli import main
from tests.conftest import TINY_CONFIG

REPO = Path(__file__).resolve().parents[1]
TINY_YAML = str(REPO / "tests/conf/tiny.yaml")
MEAN = [0.5, 0.4, 0.3]
# What every command must be told about the run's model (it is not in tests/conf/tiny.yaml).
MODEL_FLAGS = ["--model.clip.quick_gelu=true", f"--model.clip.image_mean={MEAN}"]


@pytest.fixture(scope="session")
def zero_shot_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny QuickGELU CLIP saved as a plain open_clip state dict (the zero-shot model)."""
    torch.manual_seed(0)
    model = open_clip.CLIP(**copy.deepcopy(TINY_CONFIG), quick_gelu=True)
    path = tmp_path_factory.mktemp("zoo") / "zero_shot.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, zero_shot_file: Path) -> Path:
    """The version_0 folder of a 2-epoch `paint fit` of tests/conf/tiny.yaml from ``zero_shot_file``."""
    root = tmp_path_factory.mktemp("run")
    main(
        [
            "fit",
            "--config",
            TINY_YAML,
            f"--model.clip.pretrained={zero_shot_file}",
            *MODEL_FLAGS,
            f"--trainer.default_root_dir={root}",
        ]
    )
    return root / "lightning_logs" / "version_0"


def sweep_flags(zero_shot_file: Path) -> list[str]:
    """The run's config and model flags, for commands that take a fit config."""
    return ["--config", TINY_YAML, f"--model.clip.pretrained={zero_shot_file}", *MODEL_FLAGS]


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """A folder of four small random PNGs."""
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(4):
        pixels = (np.random.RandomState(i).rand(20, 24, 3) * 255).astype("uint8")
        Image.fromarray(pixels).save(folder / f"{i}.png")
    return folder


SHADES = (
    "data:\n  patch:\n    - name: shades\n      source:\n"
    "        class_path: paint_lightning.data.synthetic.ColourPatchSource\n"
    "        init_args: {num_classes: 3, num_train: 48, num_test: 24, seed: 5}\n"
)


@pytest.fixture(scope="session")
def second_run(tmp_path_factory: pytest.TempPathFactory, zero_shot_file: Path) -> Path:
    """Another run from the same zero-shot model, patched on another task (``shades``)."""
    root = tmp_path_factory.mktemp("run2")
    (root / "shades.yaml").write_text(SHADES)
    main(
        [
            "fit",
            *sweep_flags(zero_shot_file),
            "--config",
            str(root / "shades.yaml"),
            f"--trainer.default_root_dir={root}",
        ]
    )
    return root / "lightning_logs" / "version_0"
