"""``download: true`` without network: one error line saying from where it failed and how to place the files."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from paint_lightning.commands.cli import main
from tests.conftest import TINY_CONFIG


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL torchvision opens fails as it does offline; returns the URLs tried."""
    tried: list[str] = []

    def offline(request, *args, **kwargs):
        tried.append(getattr(request, "full_url", request))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return tried


def _fit_config(tmp_path: Path, task: dict) -> str:
    config = {
        "trainer": {"accelerator": "cpu", "devices": 1, "max_steps": 1, "default_root_dir": str(tmp_path / "runs")},
        "model": {"clip": {"config": TINY_CONFIG}, "head_cache_dir": None},
        "data": {"patch": [task], "batch_size": 2, "num_workers": 0},
    }
    path = tmp_path / "fit.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_fit_with_download_and_no_network_says_where_from_and_how_to_place_the_files(
    tmp_path: Path, no_network: list[str], capsys
) -> None:
    config = _fit_config(tmp_path, {"dataset": "svhn", "root": str(tmp_path / "data"), "download": True})
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", config])
    err = capsys.readouterr().err
    assert info.value.code == 1 and no_network, err
    assert "Traceback" not in err and "bug" not in err
    first = next(line for line in err.splitlines() if line.startswith("error:"))
    assert first.startswith("error: dataset 'svhn'") and "the download failed from " in first
    assert "http://ufldl.stanford.edu/housenumbers/train_32x32.mat (URLError: " in first
    assert "Place the files by hand instead" in err and f"{tmp_path / 'data' / 'svhn'}/\n  train_32x32.mat" in err


def test_check_and_download_report_a_failed_download(tmp_path: Path, no_network: list[str], capsys) -> None:
    task = {"dataset": "mnist", "root": str(tmp_path), "download": True}
    config = tmp_path / "data.yaml"
    config.write_text(yaml.safe_dump({"data": {"patch": [task]}}))
    with pytest.raises(SystemExit):
        main(["data", "check", "--config", str(config)])
    out = capsys.readouterr().out
    assert "problem: train, test: the download failed from http" in out and "mnist/train-images-idx3-ubyte.gz" in out
    assert "download: true" not in out.split("problem:", 1)[1]  # not told to download what just failed
    assert len(no_network) == 2  # both mirrors of the first file, once: not again for the test split
    with pytest.raises(SystemExit):
        main(["data", "download", "--config", str(config)])
    out = capsys.readouterr().out
    assert "download of mnist failed: the download failed from http" in out and "Traceback" not in out
