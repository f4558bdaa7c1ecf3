"""Every bad input gives an error that names the config field, the value and the fix.

``CASES`` is also what ``python docs/bad_inputs.py`` turns into the table in docs/bad-inputs.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from paint_lightning import CLIPSource, ImageFolderSource, InterpolationSweep, PaintDataModule, PaintModule, Task
from paint_lightning.data.synthetic import ColourPatchSource
from paint_lightning.io.patched import load_patched
from paint_lightning.models.clip_source import build_clip
from tests.bad_inputs_front_door import FRONT_DOOR_CASES
from tests.conftest import TINY_CONFIG


def _task(**kwargs: Any) -> Task:
    return Task(**{"name": "digits", "source": ColourPatchSource(num_classes=4), **kwargs})


def _folder(root: Path, broken: bool = False) -> Path:
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            (root / split / name).mkdir(parents=True)
            for i in range(3):
                Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / split / name / f"{i}.png")
    if broken:
        (root / "train" / "dog" / "broken.png").write_bytes(b"\x89PNG truncated")
    return root


def _other_architecture(tmp: Path) -> None:
    other = {**TINY_CONFIG, "vision_cfg": {**TINY_CONFIG["vision_cfg"], "width": 64}}
    path = tmp / "vit-wide.safetensors"
    save_file(
        {k: v.contiguous() for k, v in build_clip(CLIPSource(config=other)).model.state_dict().items()}, str(path)
    )
    build_clip(CLIPSource(config=TINY_CONFIG, pretrained=str(path)), "model.clip")


def _corrupt_safetensors(tmp: Path) -> None:
    path = tmp / "model.safetensors"
    path.write_bytes(b"\x00" * 100)
    build_clip(CLIPSource(name="ViT-B-32", pretrained=str(path)), "model.clip")


def _pickled_checkpoint(tmp: Path) -> None:
    path = tmp / "model.pt"
    torch.save({"model": torch.nn.Linear(2, 2)}, path)
    build_clip(CLIPSource(config=TINY_CONFIG, pretrained=str(path)), "model.clip")


def _truncated_checkpoint(tmp: Path) -> None:
    path = tmp / "model.pt"
    torch.save(build_clip(CLIPSource(config=TINY_CONFIG)).model.state_dict(), path)
    path.write_bytes(path.read_bytes()[:1000])
    build_clip(CLIPSource(config=TINY_CONFIG, pretrained=str(path)), "model.clip")


def _broken_image(tmp: Path) -> None:
    dataset = ImageFolderSource(str(_folder(tmp, broken=True))).dataset("train")
    for index in range(len(dataset)):
        dataset[index]


def _tampered_export(tmp: Path) -> None:
    (tmp / "patched.safetensors").write_bytes(b"changed after export")
    (tmp / "patched.json").write_text('{"sha256": "0000"}')
    load_patched(tmp / "patched.safetensors")


# (what was tried, how to trigger it, exception type, pattern the message must match)
CASES: list[tuple[str, Callable[[Path], Any], type[BaseException], str]] = [
    (
        "unknown model name",
        lambda t: build_clip(CLIPSource(name="ViT-B-23", pretrained="openai"), "model.clip"),
        ValueError,
        r"model\.clip\.name='ViT-B-23'.*Did you mean",
    ),
    (
        "pretrained tag the model does not have",
        lambda t: build_clip(CLIPSource(name="ViT-B-32", pretrained="laion400m"), "model.clip"),
        ValueError,
        r"model\.clip\.pretrained='laion400m' is not a pretrained tag of ViT-B-32.*Tags of ViT-B-32",
    ),
    (
        "missing checkpoint file",
        lambda t: build_clip(CLIPSource(name="ViT-B-32", pretrained=str(t / "gone.pt")), "model.clip"),
        ValueError,
        r"model\.clip\.pretrained=.*gone\.pt.*not found.*Give an existing file",
    ),
    (
        "corrupted safetensors checkpoint",
        _corrupt_safetensors,
        ValueError,
        r"model\.clip\.pretrained=.*cannot read safetensors",
    ),
    (
        "checkpoint holding pickled objects",
        _pickled_checkpoint,
        ValueError,
        r"model\.clip\.pretrained=.*pickled Python objects.*never unpickled.*state dict instead",
    ),
    (
        "checkpoint for another architecture",
        _other_architecture,
        ValueError,
        r"another architecture.*shape mismatches \['visual\..*Check `model\.clip\.name`/`config`",
    ),
    (
        "empty model source",
        lambda t: build_clip(CLIPSource(), "model.clip"),
        ValueError,
        r"model\.clip: empty model source",
    ),
    (
        "non-positive learning rate",
        lambda t: PaintModule(CLIPSource(config=TINY_CONFIG), lr=0.0),
        ValueError,
        r"model\.lr=0\.0",
    ),
    (
        "class names not matching the labels in number",
        lambda t: PaintDataModule(patch=[_task(classnames=["0", "1", "2"])]),
        ValueError,
        r"data\.patch\[0\]\.classnames has 3 names but the data set .* has 4 classes",
    ),
    (
        "empty class-name list",
        lambda t: PaintDataModule(patch=[_task(classnames=[])]),
        ValueError,
        r"data\.patch\[0\]\.classnames is empty",
    ),
    (
        "duplicate class names",
        lambda t: PaintDataModule(patch=[_task(classnames=["a", "b", "a", "c"])]),
        ValueError,
        r"data\.patch\[0\]\.classnames names 'a' twice",
    ),
    (
        "blank class name",
        lambda t: PaintDataModule(patch=[_task(classnames=["a", " ", "b", "c"])]),
        ValueError,
        r"data\.patch\[0\]\.classnames has empty names at positions \[1\]",
    ),
    (
        "template without {}",
        lambda t: PaintDataModule(patch=[_task(templates=["a photo of a digit"])]),
        ValueError,
        r"data\.patch\[0\]\.templates has template 'a photo of a digit', which must contain",
    ),
    (
        "empty template list",
        lambda t: PaintDataModule(patch=[_task(templates=[])]),
        ValueError,
        r"data\.patch\[0\]\.templates is empty",
    ),
    (
        "unknown template preset",
        lambda t: PaintDataModule(patch=[_task(templates="imagenet")]),
        ValueError,
        r"data\.patch\[0\]\.templates='imagenet' is not a template preset",
    ),
    (
        "task name unusable in metric names",
        lambda t: PaintDataModule(patch=[_task(name="my digits")]),
        ValueError,
        r"data\.patch\[0\]\.name='my digits'",
    ),
    (
        "two tasks with the same name",
        lambda t: PaintDataModule(patch=[_task()], support=[_task()]),
        ValueError,
        r"\['digits'\] are used twice",
    ),
    ("no patch task", lambda t: PaintDataModule(patch=[]), ValueError, r"data\.patch is empty"),
    (
        "empty data set",
        lambda t: PaintDataModule(patch=[_task(source=ColourPatchSource(num_train=0))]),
        ValueError,
        r"data\.patch\[0\] \(task 'digits'\): the train split of ColourPatchSource is empty",
    ),
    (
        "data set too small for a held-out split",
        lambda t: PaintDataModule(patch=[_task(source=ColourPatchSource(num_train=1))]),
        ValueError,
        r"data\.patch\[0\] \(task 'digits'\): 1 training image cannot give both",
    ),
    (
        "empty held-out split (fraction 0)",
        lambda t: PaintDataModule(patch=[_task()], heldout_fraction=0.0),
        ValueError,
        r"data\.heldout_fraction=0\.0: must be in \(0, 1\)",
    ),
    (
        "missing data root",
        lambda t: ImageFolderSource(str(t / "nowhere")),
        ValueError,
        r"source\.root=.*nowhere.*folder not found",
    ),
    (
        "data root without a split folder",
        lambda t: ImageFolderSource(str(t), test_dir="val").dataset("test"),
        ValueError,
        r"has no 'val' folder for the test split",
    ),
    (
        "corrupted image in a folder task",
        _broken_image,
        ValueError,
        r"cannot read image .*broken\.png.*on_bad_image=skip",
    ),
    (
        "evaluation batch size of zero",
        lambda t: PaintDataModule(patch=[_task()], eval_batch_size=0),
        ValueError,
        r"data\.eval_batch_size=0: must be at least 1",
    ),
    (
        "held-out cap of zero",
        lambda t: PaintDataModule(patch=[_task()], heldout_max=0),
        ValueError,
        r"data\.heldout_max=0: must be at least 1",
    ),
    (
        "negative number of workers",
        lambda t: PaintDataModule(patch=[_task()], num_workers=-1),
        ValueError,
        r"data\.num_workers=-1: must be >= 0",
    ),
    (
        "negative evaluation cache",
        lambda t: PaintDataModule(patch=[_task()], eval_cache_mb=-1),
        ValueError,
        r"data\.eval_cache_mb=-1: must be >= 0",
    ),
    (
        "evaluation chunk of zero MiB",
        lambda t: InterpolationSweep(chunk_mb=0),
        ValueError,
        r"sweep\.chunk_mb=0: must be at least 1",
    ),
    (
        "negative weight decay",
        lambda t: PaintModule(CLIPSource(config=TINY_CONFIG), weight_decay=-0.1),
        ValueError,
        r"model\.weight_decay=-0\.1: must be >= 0",
    ),
    (
        "label smoothing of 1",
        lambda t: PaintModule(CLIPSource(config=TINY_CONFIG), label_smoothing=1.0),
        ValueError,
        r"model\.label_smoothing=1\.0: must be in \[0, 1\)",
    ),
    (
        "negative live-sweep budget",
        lambda t: InterpolationSweep(max_fraction=-0.5),
        ValueError,
        r"sweep\.max_fraction=-0\.5: give a non-negative share.*null for no budget",
    ),
    (
        "unknown kind of intermediate sweep",
        lambda t: InterpolationSweep(intermediate="half"),  # type: ignore[arg-type]
        ValueError,
        r"sweep\.intermediate='half': use coarse or full",
    ),
    (
        "no held-out images for live sweeps",
        lambda t: InterpolationSweep(intermediate_images=0),
        ValueError,
        r"sweep\.intermediate_images=0: give at least 1 image per task, or null for all",
    ),
    ("empty alpha grid", lambda t: InterpolationSweep(alphas=[]), ValueError, r"sweep\.alphas is empty"),
    (
        "alphas outside [0, 1]",
        lambda t: InterpolationSweep(alphas=[0.0, 1.2]),
        ValueError,
        r"sweep\.alphas has \[1\.2\] outside \[0, 1\].*sweep\.allow_extrapolation=true",
    ),
    (
        "constrained criterion without a drop limit",
        lambda t: InterpolationSweep(criterion="constrained"),
        ValueError,
        r"sweep\.max_support_drop=None: criterion 'constrained' needs",
    ),
    (
        "exported weights changed after export",
        _tampered_export,
        ValueError,
        r"has SHA-256 .* but patched\.json records 0000",
    ),
    (
        "truncated torch checkpoint",
        _truncated_checkpoint,
        ValueError,
        r"model\.clip\.pretrained=.*damaged or truncated",
    ),
]


CASES += FRONT_DOOR_CASES


@pytest.mark.parametrize(("what", "trigger", "error", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(tmp_path: Path, what: str, trigger: Callable, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        trigger(tmp_path)
    assert not list(tmp_path.rglob("*.tmp"))  # nothing half-written left behind


def test_unreadable_images_can_be_skipped_instead(tmp_path: Path) -> None:
    dataset = ImageFolderSource(str(_folder(tmp_path, broken=True)), on_bad_image="skip").dataset("train")
    assert len(dataset) == 6 and all(dataset[i] is not None for i in range(6))


def test_docs_list_every_case() -> None:
    table = (Path(__file__).resolve().parents[1] / "docs" / "bad-inputs.md").read_text()
    missing = [what for what, *_ in CASES if f"| {what} |" not in table]
    assert not missing, f"docs/bad-inputs.md lacks {missing}: run python docs/bad_inputs.py"
