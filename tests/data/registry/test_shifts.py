"""ImageNet's distribution shifts (WiSE-FT's protocol): subset heads, layouts, ObjectNet's border, the transfer role."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES
from torchvision import transforms as T

from paint_lightning.data import PaintDataModule, Task
from paint_lightning.data.registry import SHIFT_TASKS, DataNotFoundError, build_source
from paint_lightning.data.registry.imagenet_wnids import IMAGENET_WNIDS
from paint_lightning.data.registry.objectnet import OBJECTNET_TO_IMAGENET
from paint_lightning.data.synthetic import ColourPatchSource
from tests.data.registry.shift_fakes import OBJECTNET_ONLY, SHIFT_EXPECTED, SHIFT_FAKES

REPO = Path(__file__).resolve().parents[3]
HEAD_SIZES = {"imagenet_v2": 1000, "imagenet_r": 200, "imagenet_a": 200, "imagenet_sketch": 1000, "objectnet": 113}


def _imagenet_label(key: str, folder: str) -> int:
    """The ImageNet label of a class folder, as each release names its folders."""
    if key == "imagenet_v2":
        return int(folder)
    if key == "objectnet":
        return OBJECTNET_TO_IMAGENET[folder][0]
    return IMAGENET_WNIDS.index(folder)


@pytest.mark.parametrize("key", SHIFT_TASKS)
def test_every_image_is_labelled_by_its_class_on_the_subset_head(key: str, tmp_path: Path) -> None:
    SHIFT_FAKES[key](tmp_path)
    source = build_source(key, str(tmp_path))
    assert source.splits == ("test",) and len(source.classnames) == HEAD_SIZES[key]
    assert source.templates == build_source("imagenet", str(tmp_path)).templates and len(source.templates) == 80
    samples = source.dataset("test").samples
    assert len({label for _, label in samples}) == HEAD_SIZES[key]  # every head row has its images
    for path, label in samples:
        assert source.classnames[label] == IMAGENET_CLASSNAMES[_imagenet_label(key, Path(path).parent.name)], path


def test_subsets_are_the_official_ones() -> None:
    r = build_source("imagenet_r", "/nowhere")
    a = build_source("imagenet_a", "/nowhere")
    # First and last classes of each official list (hendrycks' eval.py files; WiSE-FT's CLASS_SUBLIST).
    assert r.folder_names()[0] == "n01443537" and r.classnames[0] == "goldfish" and r.folder_names()[-1] == "n12267677"
    assert a.folder_names()[0] == "n01498041" and a.classnames[0] == "stingray" and a.folder_names()[-1] == "n12267677"
    assert len(set(r.folder_names())) == len(set(a.folder_names())) == 200 and r.folder_names() != a.folder_names()
    objectnet = build_source("objectnet", "/nowhere")
    assert objectnet.folder_names()[:2] == ["alarm_clock", "backpack"]
    assert objectnet.classnames[:2] == ["analog clock", "backpack"]
    assert sum(len(labels) for labels in OBJECTNET_TO_IMAGENET.values()) == 125
    assert len(set(objectnet.classnames)) == 113


@pytest.mark.parametrize("key", SHIFT_TASKS)
def test_a_missing_class_folder_is_named_with_the_layout(key: str, tmp_path: Path) -> None:
    SHIFT_FAKES[key](tmp_path)
    source = build_source(key, str(tmp_path))
    gone = source.folder_names()[3]
    shutil.rmtree(source.images_dir / gone)
    with pytest.raises(DataNotFoundError) as info:
        source.labels("test")
    assert f"missing [{gone!r}]" in info.value.what and "incomplete" in info.value.what
    assert "Expected layout:" in str(info.value) and str(source.data_dir) in str(info.value)
    assert "How to get it:" in str(info.value) and "extract it in the root" in str(info.value)


def test_unknown_class_folders_are_refused_except_objectnets_own_classes(tmp_path: Path) -> None:
    SHIFT_FAKES["imagenet_r"](tmp_path)
    (tmp_path / "imagenet-r" / "n01440764").mkdir()  # tench: an ImageNet class that ImageNet-R lacks
    with pytest.raises(DataNotFoundError, match=r"1 are not classes of this data set \['n01440764'\]"):
        build_source("imagenet_r", str(tmp_path)).labels("test")
    SHIFT_FAKES["objectnet"](tmp_path)
    samples = build_source("objectnet", str(tmp_path)).dataset("test").samples
    assert len(samples) == 114 and not any(Path(p).parent.name in OBJECTNET_ONLY for p, _ in samples)


def test_objectnet_red_border_is_cropped(tmp_path: Path) -> None:
    SHIFT_FAKES["objectnet"](tmp_path)
    image, _ = build_source("objectnet", str(tmp_path)).dataset("test")[0]
    pixels = np.asarray(image)
    assert pixels.shape == (4, 4, 3) and (pixels == 90).all()  # the 6x6 image without its red frame
    framed, _ = build_source("objectnet", str(tmp_path), options={"border": 0}).dataset("test")[0]
    assert np.asarray(framed).shape == (6, 6, 3) and tuple(np.asarray(framed)[0, 0]) == (255, 0, 0)
    tensor, _ = build_source("objectnet", str(tmp_path)).dataset("test", T.ToTensor())[0]
    assert tuple(tensor.shape) == (3, 4, 4)
    with pytest.raises(ValueError, match=r"options.border=-1"):
        build_source("objectnet", str(tmp_path), options={"border": -1})


@pytest.mark.parametrize("role", ["patch", "support"])
def test_test_only_data_sets_refuse_the_roles_that_need_other_images(role: str, tmp_path: Path) -> None:
    SHIFT_FAKES["imagenet_a"](tmp_path)
    shift = Task(dataset="imagenet_a", root=str(tmp_path))
    patch = [shift] if role == "patch" else [Task("patches", ColourPatchSource(num_classes=2, num_train=8))]
    support = [shift] if role == "support" else []
    with pytest.raises(ValueError, match=rf"data.{role}\[0\]: dataset 'imagenet_a' has only a test split") as info:
        PaintDataModule(patch=patch, support=support, num_workers=0)
    assert "Watch it as a transfer task" in str(info.value)


def test_a_shift_is_a_transfer_task_judged_on_all_its_images(tmp_path: Path) -> None:
    SHIFT_FAKES["imagenet_r"](tmp_path)
    dm = PaintDataModule(
        patch=[Task("patches", ColourPatchSource(num_classes=2, num_train=8, num_test=4))],
        transfer=[Task(dataset="imagenet_r", root=str(tmp_path))],
        batch_size=4,
        num_workers=0,
        heldout_fraction=0.25,
        heldout_max=50,
    )
    assert [(s.name, s.role, len(s.classnames)) for s in dm.task_specs()][1] == ("imagenet_r", "transfer", 200)
    dm.set_transforms(T.ToTensor(), T.ToTensor())
    dm.setup("fit")
    assert len(dm.heldout_sets["imagenet_r"]) == 50 and len(dm.test_sets["imagenet_r"]) == 201
    assert len(dm.train_set) == 6  # the patch task's images only
    record = dm.provenance()["tasks"]["imagenet_r"]
    assert record["heldout_from"] == "test" and "train" not in record and {"heldout", "test"} <= set(record)
    with pytest.raises(ValueError, match=r"leave heldout_from out: a test-only transfer task.s held-out images sample"):
        PaintDataModule(
            patch=dm.patch, transfer=[Task(dataset="imagenet_r", root=str(tmp_path), heldout_from="val")], num_workers=0
        )


@pytest.mark.parametrize("model", ["vit_b32", "vit_l14"])
def test_wiseft_configs_patch_imagenet_and_watch_the_five_shifts(model: str) -> None:
    from paint_lightning.commands.data import config_tasks

    tasks = config_tasks([str(REPO / "configs" / "paper" / f"wiseft_{model}.yaml")])
    roles = {ns.dataset: role for _, role, ns in tasks}
    assert roles == {"imagenet": "patch", **{key: "transfer" for key in SHIFT_TASKS}}
    assert next(ns for _, role, ns in tasks if role == "patch").heldout_from == "train"


def test_paint_data_check_reports_the_shifts_found(
    fake_data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from paint_lightning.commands.data import data_main

    monkeypatch.setenv("PAINT_DATA_ROOT", str(fake_data_root))
    data_main(["check", "--config", str(REPO / "configs" / "paper" / "wiseft_vit_b32.yaml"), "--quick"])
    out = capsys.readouterr().out
    assert "Every task has its data." in out
    for key in SHIFT_TASKS:
        assert f"[ok]      {key} (data.transfer[" in out, out
        count = len(SHIFT_EXPECTED[key]["test"])  # type: ignore[arg-type]
        assert f"test:  {count:,} images, {HEAD_SIZES[key]}/{HEAD_SIZES[key]} classes" in out, out


def test_a_fit_sweeps_and_reports_a_shift_as_a_transfer_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paint_lightning.callbacks import InterpolationSweep
    from tests.callbacks.helpers import fit_tiny
    from tests.conftest import tiny_datamodule

    SHIFT_FAKES["objectnet"](tmp_path / "data")

    def with_objectnet(**kwargs) -> PaintDataModule:
        dm = tiny_datamodule(**kwargs)
        shift = Task(dataset="objectnet", root=str(tmp_path / "data"), templates=["a photo of a {}."])
        return PaintDataModule(patch=dm.patch, transfer=[shift], batch_size=16, num_workers=0, heldout_max=20)

    monkeypatch.setattr("tests.callbacks.helpers.tiny_datamodule", with_objectnet)
    sweep = InterpolationSweep(alphas=[0.0, 1.0], log_figures=False)
    fit_tiny(tmp_path / "run", [sweep], epochs=1)
    last = sweep.history[-1]
    assert last["tasks"]["objectnet"]["role"] == "transfer" and len(last["tasks"]["objectnet"]["accuracy"]) == 2
    assert sweep.test_result["tasks"]["objectnet"]["num_examples"] == 114  # every image of the 113 classes
