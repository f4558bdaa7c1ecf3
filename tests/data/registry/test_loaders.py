"""Every registry loader on tiny fake files in its data set's real on-disk format (no downloads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paint_lightning.data.registry import REGISTRY, DataNotFoundError, build_source
from tests.data.registry.fakes import EXPECTED, FAKES, trust_fake_checksums


@pytest.mark.parametrize("key", list(REGISTRY))
def test_loader_reads_its_fake_files(key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trust_fake_checksums(monkeypatch)
    FAKES[key](tmp_path)
    source = build_source(key, str(tmp_path))
    assert source.splits == tuple(EXPECTED[key])
    for split, expected in EXPECTED[key].items():
        labels = source.labels(split)
        if isinstance(expected, int):
            assert len(labels) == expected
        else:
            assert labels == expected, split
        dataset = source.dataset(split)
        assert len(dataset) == len(labels)
        image, label = dataset[len(dataset) - 1]
        assert image.mode == "RGB" and label == labels[-1]
        assert len(source.fingerprint(split)) == 16


@pytest.mark.parametrize("key", list(REGISTRY))
def test_missing_files_say_what_to_fetch(key: str, tmp_path: Path) -> None:
    source = build_source(key, str(tmp_path))
    with pytest.raises(DataNotFoundError) as info:
        source.labels(source.splits[0])  # train, or test for the test-only data sets
    message = str(info.value)
    assert f"dataset {key!r}" in message and "Expected layout:" in message and "How to get it:" in message
    assert str(tmp_path / source.folder) in message
    if source.can_fetch():
        assert "download: true" in message


def test_gtsrb_names_the_class_folder_that_is_missing(tmp_path: Path) -> None:
    import shutil

    from tests.data.registry.fakes import fake_gtsrb

    fake_gtsrb(tmp_path)
    shutil.rmtree(tmp_path / "gtsrb" / "GTSRB" / "Training" / "00007")
    with pytest.raises(DataNotFoundError) as info:
        build_source("gtsrb", str(tmp_path)).labels("train")
    assert "00000 to 00042: 00007 missing" in info.value.what


def test_sun397_follows_class_folders_that_are_symbolic_links(tmp_path: Path) -> None:
    """A copy whose letter folders link to another disk lists the same images as a plain copy."""
    from tests.data.registry.fakes import fake_sun397

    fake_sun397(tmp_path / "disk")
    (tmp_path / "root" / "SUN397").mkdir(parents=True)
    for entry in (tmp_path / "disk" / "SUN397").iterdir():  # a/, z/ (folders) and the text files
        (tmp_path / "root" / "SUN397" / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    plain = build_source("sun397", str(tmp_path / "disk"), options={"partition": None})
    linked = build_source("sun397", str(tmp_path / "root"), options={"partition": None})
    assert len(plain.all_images()[0]) == 15
    assert linked.all_images()[1] == plain.all_images()[1]
    assert [linked.labels(split) for split in linked.splits] == [plain.labels(split) for split in plain.splits]


@pytest.mark.parametrize("key", ["svhn", "cifar10", "cifar100", "stl10"])
def test_files_failing_the_md5_check_are_not_called_missing(key: str, tmp_path: Path) -> None:
    """The fakes have the real file names and other contents, so torchvision's MD5 check fails."""
    FAKES[key](tmp_path)
    first = {"svhn": "train_32x32.mat", "cifar10": "data_batch_1", "cifar100": "train", "stl10": "train_X.bin"}[key]
    with pytest.raises(DataNotFoundError) as info:
        build_source(key, str(tmp_path)).labels("train")
    assert f"{first} (MD5 should be " in info.value.what and "present but fail" in info.value.what
    assert "Delete" in info.value.what and "download again" in str(info.value)
    assert type(info.value).__name__ == "ChecksumError"  # paint data check labels it [BAD MD5]


def test_imagenet_archive_failing_the_md5_check_is_named(tmp_path: Path) -> None:
    for name in ("ILSVRC2012_devkit_t12.tar.gz", "ILSVRC2012_img_val.tar"):
        (tmp_path / "imagenet").mkdir(exist_ok=True)
        (tmp_path / "imagenet" / name).write_bytes(b"not the archive")
    with pytest.raises(DataNotFoundError) as info:
        build_source("imagenet", str(tmp_path)).labels("test")
    assert "ILSVRC2012_devkit_t12.tar.gz (MD5 should be fa75699e90414af021442c21a62c3abf)" in info.value.what


def test_missing_files_are_not_said_to_fail_the_md5_check(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        build_source("cifar10", str(tmp_path)).labels("train")
    assert type(info.value).__name__ == "DataNotFoundError" and "MD5" not in info.value.what
    assert info.value.what.startswith("data_batch_1, data_batch_2, ") and " not found in " in info.value.what
