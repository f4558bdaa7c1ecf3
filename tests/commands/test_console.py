"""paint test / paint validate print the sweep's line and table, no loader bars or metric dumps."""

from paint_lightning.commands.cli import main
from tests.run_fixtures import sweep_flags


def test_paint_test_prints_the_table_and_nothing_per_loader(tiny_run, zero_shot_file, tmp_path, capfd):
    (checkpoint,) = (tiny_run / "checkpoints").glob("*.ckpt")
    common = [
        *sweep_flags(zero_shot_file),
        f"--trainer.default_root_dir={tmp_path}",
        "--trainer.enable_progress_bar=true",
    ]
    main(["test", *common, "--ckpt_path", str(checkpoint)])
    captured = capfd.readouterr()
    text = captured.out + captured.err
    for noise in ("DataLoader", "Testing", "Test metric", "dirpath has changed", "Restoring states", "Tip:"):
        assert noise not in text, noise
    assert text.strip().startswith("PAINT result on the test splits")
    main(["validate", *common, "--ckpt_path", str(checkpoint)])
    captured = capfd.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    assert "alpha* = " in lines[0]  # the sweep's line, the held-out size it would need, then only its warnings
    assert "held-out images" in lines[1] and "alpha* = " in lines[1], lines[1]
    assert all(line.startswith("Warning: Alpha* may not mean much") for line in lines[2:]), lines[2:]


def test_a_closed_pipe_ends_quietly_not_as_a_bug() -> None:
    import subprocess
    import sys

    # The reader is gone before paint writes (as with `paint data list | head -1` on a long output).
    process = subprocess.Popen(
        [sys.executable, "-m", "paint_lightning", "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 141
    assert "bug" not in err and "Traceback" not in err, err
