"""Output paths under a regular file fail before any work, naming the flag, the path and the file."""

from pathlib import Path

import pytest

import paint_lightning.commands.predict as predict
from paint_lightning.commands.cli import main
from paint_lightning.commands.failures import UserError
from paint_lightning.commands.paths import check_output_dir, check_output_file
from tests.run_fixtures import TINY_YAML


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    """A regular file where a folder would have to be made."""
    path = tmp_path / "notes.txt"
    path.write_text("not a folder\n")
    return path


def _one_line_error(args: list[str], capsys: pytest.CaptureFixture) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert exit_info.value.code == 2 and len(errors) == 1, err
    assert "Errno" not in err and "Traceback" not in err
    return errors[0]


def test_check_output_dir_names_the_flag_the_path_and_the_blocking_file(blocker, tmp_path):
    with pytest.raises(UserError, match=rf"--out='{blocker}/a/b': {blocker} is a regular file"):
        check_output_dir(blocker / "a" / "b", "--out")
    with pytest.raises(UserError, match=rf"--out='{blocker}' is a file, not a folder"):
        check_output_dir(blocker, "--out")
    assert check_output_dir(tmp_path / "new" / "deep", "--out") == tmp_path / "new" / "deep"
    assert not (tmp_path / "new").exists()  # nothing is created
    with pytest.raises(UserError, match=rf"--output='{blocker}/p.csv': {blocker} is a regular file"):
        check_output_file(blocker / "p.csv", "--output")
    with pytest.raises(UserError, match=rf"--output='{tmp_path}' is a folder"):
        check_output_file(tmp_path, "--output")


def test_fit_refuses_a_default_root_dir_under_a_file(blocker, capsys):
    err = _one_line_error(["fit", "--config", TINY_YAML, f"--trainer.default_root_dir={blocker}/runs"], capsys)
    assert f"--trainer.default_root_dir='{blocker}/runs': {blocker} is a regular file" in err


def test_export_refuses_an_out_under_a_file(blocker, tmp_path, capsys):
    err = _one_line_error(["export", "--run", str(tmp_path / "no_run"), "--out", f"{blocker}/shipped"], capsys)
    assert f"--out='{blocker}/shipped': {blocker} is a regular file" in err


def test_sweep_and_parallel_refuse_an_out_under_a_file_before_reading_checkpoints(blocker, tmp_path, capsys):
    missing = str(tmp_path / "no_run")  # never read: the output is checked first
    args = ["sweep", "--config", TINY_YAML, "--fine_tuned", missing, "--out", f"{blocker}/o"]
    assert f"--out='{blocker}/o': {blocker} is a regular file" in _one_line_error(args, capsys)
    args = ["parallel", "--config", TINY_YAML, "--runs", missing, missing, "--out", f"{blocker}/o"]
    assert f"--out='{blocker}/o': {blocker} is a regular file" in _one_line_error(args, capsys)


def test_predict_refuses_an_output_under_a_file_before_building_the_model(
    blocker, images, zero_shot_file, monkeypatch, capsys
):
    def never(*args, **kwargs):
        raise AssertionError("the model was built before the output was checked")

    monkeypatch.setattr(predict, "load_model", never)
    monkeypatch.setattr(predict, "load_run", never)
    args = ["predict", "--clip.pretrained", str(zero_shot_file), "--images", str(images), "--classnames", "a", "b"]
    err = _one_line_error([*args, "--output", f"{blocker}/preds.csv"], capsys)
    assert f"--output='{blocker}/preds.csv': {blocker} is a regular file" in err
