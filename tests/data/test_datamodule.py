import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from paint_lightning.data import ImageFolderSource, PaintDataModule, Task
from paint_lightning.data.cache import ByteBatch, TensorDataset, finished
from paint_lightning.data.synthetic import ColourPatchSource
from tests.conftest import tiny_datamodule


def _setup(dm: PaintDataModule, stage: str = "fit") -> PaintDataModule:
    dm.set_transforms(T.ToTensor(), T.ToTensor())
    dm.setup(stage)
    return dm


def test_heldout_is_carved_from_train_and_disjoint() -> None:
    dm = _setup(tiny_datamodule())
    held = dm.heldout_sets["patches"]
    train_part = dm.train_set.datasets[0].dataset  # _WithTaskIndex -> Subset
    assert len(held) == 16 and len(train_part) == 48
    assert not set(held.indices) & set(train_part.indices)
    image, label, task = dm.train_set[0]
    assert image.shape == (3, 16, 16) and task == 0 and 0 <= label < 4


def test_splits_do_not_depend_on_task_order() -> None:
    a = _setup(tiny_datamodule())
    b = tiny_datamodule()
    b.patch, b.support = b.patch, list(reversed(b.support))
    _setup(b)
    assert a.heldout_sets["other"].indices == b.heldout_sets["other"].indices


def test_task_specs_resolve_names_and_templates() -> None:
    specs = tiny_datamodule().task_specs()
    assert [(s.name, s.role) for s in specs] == [("patches", "patch"), ("other", "support")]
    assert specs[0].templates == ["a {}."] and specs[1].templates == ["a photo of a {}."]
    assert specs[1].classnames == ["class 0", "class 1", "class 2"]


@pytest.mark.parametrize(
    ("task_kwargs", "message"),
    [
        ({"classnames": ["a", "b"]}, "data.patch\\[0\\].classnames has 2 names but the data set .* has 4 classes"),
        ({"classnames": ["a", "b", "a", "c"]}, "names 'a' twice"),
        ({"classnames": ["a", "", "b", "c"]}, "empty names at positions \\[1\\]"),
        ({"templates": ["a photo"]}, "must contain '\\{\\}' exactly once"),
        ({"templates": []}, "templates is empty"),
        ({"templates": "nonsense"}, "not a template preset"),
        ({"name": "has space"}, "data.patch\\[0\\].name='has space'"),
    ],
)
def test_bad_task_configs_name_the_field(task_kwargs: dict, message: str) -> None:
    task = Task(**{"name": "t", "source": ColourPatchSource(num_classes=4), **task_kwargs})
    with pytest.raises(ValueError, match=message):
        PaintDataModule(patch=[task])


def test_duplicate_names_and_empty_patch_are_refused() -> None:
    task = Task("t", ColourPatchSource())
    with pytest.raises(ValueError, match=r"used twice"):
        PaintDataModule(patch=[task], support=[task])
    with pytest.raises(ValueError, match=r"data.patch is empty"):
        PaintDataModule(patch=[])
    with pytest.raises(ValueError, match=r"heldout_fraction=0"):
        PaintDataModule(patch=[task], heldout_fraction=0)


def test_eval_cache_holds_the_same_tensors() -> None:
    dm = _setup(tiny_datamodule(eval_cache_mb=16))
    raw = [dm.heldout_sets["patches"][i] for i in range(3)]
    cached = dm.cached_heldout_sets()["patches"]
    assert isinstance(cached, TensorDataset)
    for i, (image, label) in enumerate(raw):
        assert torch.equal(cached[i][0], image) and int(cached[i][1]) == label
    images, labels = finished(next(iter(dm.eval_dataloader(cached))))
    assert images.shape == (16, 3, 16, 16) and labels.shape == (16,) and images.dtype == torch.float32


def test_eval_cache_respects_budget() -> None:
    dm = _setup(tiny_datamodule(eval_cache_mb=0))
    assert not isinstance(dm.cached_heldout_sets()["patches"], TensorDataset)


def _folder(root, bad: bool = False):
    for split in ("train", "test"):
        for name in ("red_car", "blue"):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(3):
                Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    if bad:
        (root / "train" / "blue" / "broken.png").write_bytes(b"not a png")
    return root


def test_image_folder_source_reads_classes_and_images(tmp_path) -> None:
    source = ImageFolderSource(str(_folder(tmp_path)))
    assert source.classnames == ["blue", "red car"]
    dataset = source.dataset("train", T.ToTensor())
    image, label = dataset[0]
    assert len(dataset) == 6 and image.shape == (3, 8, 8) and label == 0


def test_unreadable_image_is_named_or_skipped(tmp_path) -> None:
    root = _folder(tmp_path, bad=True)
    dataset = ImageFolderSource(str(root)).dataset("train")
    index = [p for p, _ in dataset.samples].index(str(root / "train" / "blue" / "broken.png"))
    with pytest.raises(ValueError, match=r"cannot read image .*broken.png.*on_bad_image=skip"):
        dataset[index]
    skipped = ImageFolderSource(str(root), on_bad_image="skip").dataset("train")
    assert len(skipped) == 6


def test_missing_root_is_reported(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"source.root=.*folder not found"):
        ImageFolderSource(str(tmp_path / "nowhere"))


def test_eval_cache_keeps_uint8_and_gives_bit_identical_batches() -> None:
    from open_clip import image_transform

    dm = tiny_datamodule(eval_cache_mb=16)
    dm.set_transforms(image_transform(16, is_train=True), image_transform(16, is_train=False))
    dm.setup("fit")
    cached = dm.cached_heldout_sets()["patches"]
    assert cached.images.dtype == torch.uint8  # 4x smaller than floats
    decoded = torch.stack([dm.heldout_sets["patches"][i][0] for i in range(len(cached))])
    batches = list(dm.eval_dataloader(cached))
    assert all(isinstance(b, ByteBatch) and b.images.dtype == torch.uint8 for b in batches)  # moved as uint8
    from_cache = torch.cat([finished(batch)[0] for batch in batches])
    assert torch.equal(from_cache, decoded)
