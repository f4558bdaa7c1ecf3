"""The package as a user installs it: a wheel in a fresh virtual environment, run from an empty folder."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_runs_the_shipped_configs_by_name(tmp_path) -> None:
    """Builds the wheel from a copy of the sources (nothing written into the checkout), installs it
    without dependencies into a new venv that borrows this environment's packages (torch, Lightning:
    no download), and runs `paint` from an empty folder."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "paint_lightning", source / "paint_lightning", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)], check=True)
    (wheel,) = dist.glob("paint_lightning-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # This environment's packages, as a plain path: its .pth files (the editable checkout) stay unread.
    Path(site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], check=True)

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PAINT_DATA_ROOT")}

    def paint(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(venv / "bin" / "paint"), *args], cwd=empty, env=env, capture_output=True, text=True, timeout=600
        )

    where = subprocess.run(
        [str(python), "-c", "import paint_lightning; print(paint_lightning.__file__)"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(site), where  # the wheel's copy, not the checkout
    listed = paint("configs", "list")
    assert listed.returncode == 0 and "quickstart" in listed.stdout and "paper/vit_l14/sun397" in listed.stdout
    checked = paint("data", "check", "--config", "quickstart")
    assert checked.returncode == 0, checked.stderr
    assert "Every task has its data." in checked.stdout
    printed = paint("fit", "--config", "paper/vit_l14/sun397", "--print_config")
    assert printed.returncode == 0 and "ViT-L-14" in printed.stdout  # its ../shared fragments were found
    copied = paint("configs", "copy", "quickstart")
    assert copied.returncode == 0 and (empty / "configs/quickstart.yaml").is_file()
    assert not list(empty.glob("lightning_logs"))
