"""One process or several, one node or several: the same sweep, alpha* and report."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "conf" / "tiny.yaml"
TINY_RESNET = REPO / "tests" / "conf" / "tiny_resnet.yaml"
DDP = ["--trainer.devices=2", "--trainer.strategy=ddp"]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _paint(
    *args: str, env: dict[str, str] | None = None, wait: bool = True, timeout: float = 300
) -> subprocess.Popen | None:
    command = [sys.executable, "-m", "paint_lightning", *args]
    environment = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    process = subprocess.Popen(
        command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if not wait:
        return process
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"paint {args[0]} did not finish in {timeout} s (hung?):\n{output[-3000:]}") from None
    assert process.returncode == 0, output[-3000:]
    return None


def _reports(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(root.rglob("paint_report.json"))]


def _sweep_view(report: dict) -> dict:
    """What must not depend on the number of processes: counts-based numbers (summed losses may
    differ in the last bits with the order of summation, so they are left out)."""
    tasks = {
        name: {key: value for key, value in task.items() if key not in ("loss", "fine_tuned_loss")}
        for name, task in report["tasks"].items()
    }
    return {"tasks": tasks, **{key: report[key] for key in ("alphas", "selected_alpha", "zero_shot", "objective")}}


@pytest.fixture(scope="module")
def single_process_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("single")
    _paint("fit", "--config", str(TINY), f"--trainer.default_root_dir={root}")
    return root


def _validate(checkpoint: Path, root: Path, *runs: list[str], config: Path = TINY) -> list[dict]:
    """``paint validate`` of ``checkpoint`` once per list of extra arguments; their reports."""
    reports = []
    for index, extra in enumerate(runs):
        out = root / f"validate{index}"
        _paint(
            "validate",
            "--config",
            str(config),
            f"--ckpt_path={checkpoint}",
            f"--trainer.default_root_dir={out}",
            *extra,
        )
        (report,) = _reports(out)
        reports.append(report)
    return reports


def _checkpoint(root: Path) -> Path:
    return next(root.rglob("checkpoints/*.ckpt"))


def test_ddp_fit_counts_every_heldout_example_once_and_writes_once(single_process_run, tmp_path) -> None:
    _paint(
        "fit",
        "--config",
        str(TINY),
        *DDP,
        f"--trainer.default_root_dir={tmp_path}",
    )
    (single,) = _reports(single_process_run)
    ddp_reports = _reports(tmp_path)
    assert len(ddp_reports) == 1  # written by rank 0 only
    ddp = ddp_reports[0]
    held_out = {name: task["num_examples"] for name, task in ddp["tasks"].items()}
    assert (
        held_out
        == {name: task["num_examples"] for name, task in single["tasks"].items()}
        == {"patches": 15, "other": 11}
    )
    assert {n: t["num_examples"] for n, t in ddp["test"]["tasks"].items()} == {"patches": 31, "other": 23}
    assert len(list(tmp_path.rglob("patched.safetensors"))) == 1
    assert not list(tmp_path.rglob("*.tmp"))


def test_sweep_and_per_block_confirm_split_of_a_checkpoint_are_identical_on_one_and_two_processes(
    single_process_run, tmp_path
) -> None:
    """`paint validate` of one checkpoint on 1 and 2 processes, with a per-block search under
    `accept: confirm` (the default): the global sweep, its paired statistics, and the search and
    confirm parts, their counts and the verdict do not depend on the number of processes."""
    block = ["--sweep.per_block.search=coordinate", "--sweep.per_block.budget=6"]
    one, two = _validate(_checkpoint(single_process_run), tmp_path, block, [*block, *DDP])
    assert _sweep_view(one) == _sweep_view(two)
    assert len(set(one["tasks"]["patches"]["accuracy"])) > 1  # the curve is not flat: a real test
    # The paired statistics (discordant images summed across processes) do not depend on them either.
    paired = ("tied_alphas", "alpha_interval", "unpaired_alphas", "required_heldout", "warnings")
    assert {key: one[key] for key in paired} == {key: two[key] for key in paired}
    assert any(n["paired"] for n in one["required_heldout"]["neighbours"])
    keys = ("accept", "heldout", "heldout_parts", "trace", "best_mix", "won", "selected_mix")
    assert one["per_block"]["accept"]["rule"] == "confirm"
    assert {k: one["per_block"][k] for k in keys} == {k: two["per_block"][k] for k in keys}
    assert one["per_block"]["accept"]["images"] == {
        "search": {"patches": 7, "other": 5},  # round(0.5 * 15) = 8 and round(0.5 * 11) = 6 confirm images
        "confirm": {"patches": 8, "other": 6},
    }


def test_two_single_process_nodes_on_localhost_match_one_process(single_process_run, tmp_path) -> None:
    checkpoint = _checkpoint(single_process_run)
    _paint(
        "validate", "--config", str(TINY), f"--ckpt_path={checkpoint}", f"--trainer.default_root_dir={tmp_path / 'one'}"
    )
    port = str(_free_port())
    nodes = [
        _paint(
            "validate",
            "--config",
            str(TINY),
            f"--ckpt_path={checkpoint}",
            "--trainer.num_nodes=2",
            "--trainer.devices=1",
            "--trainer.strategy=ddp",
            f"--trainer.default_root_dir={tmp_path / 'nodes'}",
            env={"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "NODE_RANK": str(rank), "WORLD_SIZE": "2"},
            wait=False,
        )
        for rank in (0, 1)
    ]
    for node in nodes:
        output, _ = node.communicate(timeout=300)
        assert node.returncode == 0, output[-3000:]
    (one,) = _reports(tmp_path / "one")
    (two,) = _reports(tmp_path / "nodes")
    assert _sweep_view(one) == _sweep_view(two)
