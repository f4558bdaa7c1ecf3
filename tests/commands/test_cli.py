import json
import subprocess
import sys
from pathlib import Path

import pytest

from paint_lightning.commands.cli import main

REPO = Path(__file__).resolve().parents[2]
# Group fragments that other configs include (configs/paper/shared/) do not parse alone; chains
# (configs/multitask/chains/) are paint sequential files (tests/workflows/test_chain_configs.py).
CONFIGS = sorted(
    p
    for p in [
        *REPO.glob("configs/**/*.yaml"),
        *REPO.glob("tests/conf/*.yaml"),
        *REPO.glob("docs/workflows/configs/*.yaml"),
    ]
    if not {"shared", "chains"} & set(p.relative_to(REPO).parts)
)


# Example configs of the commands without a Trainer (docs/workflows/configs/) are named after their command,
# with a key each shows in --print_config (every config is parsed in tests/test_composition.py).
OWN_COMMANDS = {"predict": "task", "sweep": "fine_tuned", "parallel": "runs"}


def test_fit_through_the_cli_writes_report_and_patched_model(tmp_path) -> None:
    main(["fit", "--config", str(REPO / "tests/conf/tiny.yaml"), f"--trainer.default_root_dir={tmp_path}"])
    log_dir = tmp_path / "lightning_logs" / "version_0"
    report = json.loads((log_dir / "paint_report.json").read_text())
    assert report["alphas"] == [0.0, 0.25, 0.5, 0.75, 1.0] and report["epoch"] == 1
    assert report["test"]["alpha"] == report["selected_alpha"]
    meta = json.loads((log_dir / "patched.json").read_text())
    assert meta["alpha"] == report["selected_alpha"] and len(meta["sha256"]) == 64
    assert (log_dir / "patched.safetensors").stat().st_size > 0
    assert not list(log_dir.glob(".*.tmp"))  # no temporary files left behind


def test_bad_config_value_is_a_clear_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(REPO / "tests/conf/tiny.yaml"), "--sweep.criterion=best"])
    assert "sweep.criterion" in capsys.readouterr().err


def test_a_trainer_flag_lightning_refuses_is_one_line_not_a_bug(tmp_path, capsys) -> None:
    args = ["fit", "--config", str(REPO / "tests/conf/tiny.yaml"), f"--trainer.default_root_dir={tmp_path}"]
    with pytest.raises(SystemExit) as ended:
        main([*args, "--trainer.accelerator=nonexistent"])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert ended.value.code == 2 and last.startswith("error: ") and "accelerator='nonexistent'" in last
    assert "Traceback" not in err and "bug" not in err


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paint_lightning", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0 and "fit" in result.stdout and "test" in result.stdout


def test_optimizer_is_overridable_the_lightning_cli_way(tmp_path) -> None:
    from paint_lightning.commands.cli import PaintCLI
    from paint_lightning.data import PaintDataModule
    from paint_lightning.models import PaintModule

    args = ["--config", str(REPO / "tests/conf/tiny.yaml"), "--optimizer=SGD", "--optimizer.lr=0.05"]
    cli = PaintCLI(PaintModule, PaintDataModule, args=[*args, f"--trainer.default_root_dir={tmp_path}"], run=False)
    cli.trainer.fit(cli.model, cli.datamodule)
    optimizer = cli.trainer.optimizers[0]
    assert type(optimizer).__name__ == "SGD" and optimizer.param_groups[0]["lr"] == 0.05
    assert cli.model.hparams.tasks[0]["name"] == "patches"  # the DataModule's tasks reach the model


def test_cli_defaults_clip_gradients_and_read_checkpoints_weights_only(tmp_path) -> None:
    from paint_lightning.commands.cli import PaintCLI
    from paint_lightning.data import PaintDataModule
    from paint_lightning.models import PaintModule

    cli = PaintCLI(
        PaintModule,
        PaintDataModule,
        args=[
            "fit",
            "--config",
            str(REPO / "tests/conf/tiny.yaml"),
            "--trainer.max_epochs=0",
            f"--trainer.default_root_dir={tmp_path}",
        ],
    )
    assert cli.trainer.gradient_clip_val == 1.0
    assert cli.config_init["fit"]["weights_only"] is True


def test_help_lists_every_command_and_each_answers_its_help(capsys) -> None:
    from paint_lightning.commands.cli import EXTRA_COMMANDS, LIGHTNING_COMMANDS

    main(["--help"])
    listed = capsys.readouterr().out
    commands = [*LIGHTNING_COMMANDS, *EXTRA_COMMANDS]
    assert {"fit", "validate", "test", "predict", "export", "sweep", "parallel", "data", "pretrain"} <= set(commands)
    for command in commands:
        assert f"\n  {command} " in listed
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code in (0, None), command
        assert "usage" in capsys.readouterr().out.lower(), command


def test_a_config_mistake_is_one_line_with_exit_2_and_the_traceback_on_request(monkeypatch, capsys) -> None:
    args = ["fit", "--config", str(REPO / "tests/conf/tiny.yaml"), "--model.lr=0"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.strip() == "error: model.lr=0.0: must be positive (the paper uses 1e-5)."
    with pytest.raises(SystemExit):
        main([*args, "--traceback"])
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    monkeypatch.setenv("PAINT_TRACEBACK", "1")
    with pytest.raises(SystemExit):
        main(args)
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_a_mistake_wrapped_by_jsonargparse_shows_the_real_message(tmp_path, capsys) -> None:
    config = tmp_path / "folder.yaml"
    config.write_text(
        "data:\n  patch:\n    - name: mine\n      source: {class_path: paint_lightning.ImageFolderSource, "
        f"init_args: {{root: {tmp_path / 'nowhere'}}}}}\n"
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(REPO / "tests/conf/tiny.yaml"), "--config", str(config)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Union subtypes" not in err and "Traceback" not in err
    assert err.startswith("error: source.root=") and "folder not found" in err


def test_a_bug_shows_its_traceback_and_asks_for_a_report(monkeypatch, capsys) -> None:
    import paint_lightning.commands.export as export

    def broken(*args, **kwargs):
        return {}["missing"]

    monkeypatch.setattr(export, "run_export", broken)
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--run", "x", "--out", "y"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "Traceback (most recent call last)" in err and "This is a bug" in err


def test_the_console_says_what_is_built_one_line_per_epoch_and_sweep_and_the_table(tmp_path, capfd) -> None:
    main(
        [
            "fit",
            "--config",
            str(REPO / "tests/conf/tiny.yaml"),
            f"--trainer.default_root_dir={tmp_path}",
            "--trainer.enable_progress_bar=true",
        ]
    )
    captured = capfd.readouterr()
    text = captured.out + captured.err
    for noise in ("Tip:", "GPU available", "LeafSpec", "Seed set", "train_dataloader", "stopped", "sweep.py:"):
        assert noise not in text, noise
    lines = text.splitlines()
    assert lines[0].startswith("Model: an inline open_clip config") and lines[1].startswith("Tasks: patches (patch")
    assert [line.split(":")[0] for line in lines if line.startswith("Epoch ")] == [
        "Epoch 0/2",
        "Epoch 0",
        "Epoch 1/2",
        "Epoch 1",
    ]
    assert "alpha* 0.25" in next(line for line in lines if line.startswith("Epoch 1/2"))  # the running alpha*
    assert "PAINT result on the test splits" in text and "Patched model" in text


def test_from_the_shell_a_mistake_exits_2_in_one_line_and_traceback_shows_it(tmp_path) -> None:
    base = [
        sys.executable,
        "-m",
        "paint_lightning",
        "fit",
        "--config",
        str(REPO / "tests/conf/tiny.yaml"),
        "--model.lr=0",
    ]
    quiet = subprocess.run(base, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert quiet.returncode == 2 and quiet.stderr.strip().splitlines() == [
        "error: model.lr=0.0: must be positive (the paper uses 1e-5)."
    ]
    loud = subprocess.run(
        [*base, "--traceback"], capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path
    )
    assert loud.returncode == 2 and "Traceback (most recent call last)" in loud.stderr
