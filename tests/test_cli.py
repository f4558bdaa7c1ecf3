import json
import subprocess
import sys
from pathlib import Path

import pytest

from paint_lightning.cli import main

REPO = Path(__file__).resolve().parents[1]
# Group fragments that other configs include (configs/paper/shared/) do not parse alone; chains
# (configs/multitask/chains/) are paint sequential files (tests/workflows/test_chain_configs.py).
CONFIGS = sorted(
    p
    for p in [*REPO.glob("configs/**/*.yaml"), *REPO.glob("tests/conf/*.yaml")]
    if not {"shared", "chains"} & set(p.relative_to(REPO).parts)
)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_config_parses_against_the_cli(config: Path, capsys) -> None:
    if config.name.startswith("world_") or config.parent.name == "world":
        args = ["pretrain", "--config", str(config), "--print_config"]
    else:
        args = ["fit", "--config", str(config), "--print_config"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code in (0, None)
    assert "trainer:" in capsys.readouterr().out


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


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paint_lightning", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0 and "fit" in result.stdout and "test" in result.stdout


def test_optimizer_is_overridable_the_lightning_cli_way(tmp_path) -> None:
    from paint_lightning.cli import PaintCLI
    from paint_lightning.data import PaintDataModule
    from paint_lightning.models import PaintModule

    args = ["--config", str(REPO / "tests/conf/tiny.yaml"), "--optimizer=SGD", "--optimizer.lr=0.05"]
    cli = PaintCLI(PaintModule, PaintDataModule, args=[*args, f"--trainer.default_root_dir={tmp_path}"], run=False)
    cli.trainer.fit(cli.model, cli.datamodule)
    optimizer = cli.trainer.optimizers[0]
    assert type(optimizer).__name__ == "SGD" and optimizer.param_groups[0]["lr"] == 0.05
    assert cli.model.hparams.tasks[0]["name"] == "patches"  # the DataModule's tasks reach the model


def test_cli_defaults_clip_gradients_and_read_checkpoints_weights_only(tmp_path) -> None:
    from paint_lightning.cli import PaintCLI
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
