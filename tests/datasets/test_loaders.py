"""Every registry loader on tiny fake files in its data set's real on-disk format (no downloads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paint_lightning.datasets import REGISTRY, DataNotFoundError, build_source
from tests.datasets.fakes import EXPECTED, FAKES, trust_fake_checksums


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
        source.labels("train")
    message = str(info.value)
    assert f"dataset {key!r}" in message and "Expected layout:" in message and "How to get it:" in message
    assert str(tmp_path / source.folder) in message
    if source.can_fetch():
        assert "download: true" in message
