"""A run's report on disk (paint_lightning/io/report_file.py)."""

import json

import pytest

from paint_lightning.io.report_file import REPORT, read_report, write_report


def test_the_report_is_written_under_its_one_name_and_read_back(tmp_path) -> None:
    content = {"selected_alpha": 0.4, "tasks": {"digits": {"role": "patch"}}}
    path = write_report(tmp_path / "run", content)
    assert path == tmp_path / "run" / REPORT and REPORT == "paint_report.json"
    assert json.loads(path.read_text()) == content
    assert read_report(tmp_path / "run") == content
    assert [p.name for p in (tmp_path / "run").iterdir()] == [REPORT]  # no temporary file left


def test_a_folder_without_a_report_says_so(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        read_report(tmp_path)
