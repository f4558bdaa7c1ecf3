"""A process of a multi-process run killed: the others stop at once with one line and a checkpoint."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from lightning.pytorch.trainer.states import TrainerFn

from paint_lightning.callbacks.lost_process import lost_process_reason, patient_launcher
from paint_lightning.commands.failures import user_message
from tests.test_distributed import DDP, TINY, _paint, _reports, _sweep_view

GLOO_RESET = (
    "[third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error [127.0.0.1]:32674: Connection reset by peer. "
    "This is typically caused by a remote worker hanging or bugs in the application."
)
LINE = re.compile(
    r"^error: process 1 of 2 stopped \((connection (reset|closed) by peer)\) during (?P<phase>training|the sweep) "
    r"at epoch 1; resume with --ckpt_path (?P<ckpt>\S+\.ckpt)$",
    re.MULTILINE,
)
KILL = "--trainer.callbacks+=tests.callbacks.process_probes.KillRank"


def test_a_collective_failing_because_a_peer_is_gone_is_told_from_other_errors() -> None:
    assert lost_process_reason(RuntimeError(GLOO_RESET)) == "connection reset by peer"
    try:
        raise ValueError("wrapped") from RuntimeError("Connection closed by peer [10.0.0.2]:5000")
    except ValueError as err:
        assert lost_process_reason(err) == "connection closed by peer"
    assert lost_process_reason(RuntimeError("size mismatch for tower.weight")) is None
    assert lost_process_reason(ValueError("Connection reset by peer")) is None  # not a collective's error


def test_the_line_attached_to_the_exception_is_what_the_command_prints() -> None:
    err = RuntimeError(GLOO_RESET)
    assert user_message(err) is None  # a bare gloo error is not the user's mistake...
    err.__dict__["paint_message"] = "process 1 of 2 stopped (connection reset by peer) during training"
    assert user_message(err) == err.__dict__["paint_message"]  # ...but a dead process, named, is said in one line


class _Observer(threading.Thread):
    """Stands for Lightning's thread watching the processes it started."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="child-process-observer")
        self._child_processes = [SimpleNamespace(returncode=-9)]
        self.stop = threading.Event()
        self.terminated: list[float] = []

    def run(self) -> None:
        self.stop.wait()

    def _terminate_all(self) -> None:
        self.terminated.append(time.monotonic())


def test_the_launcher_waits_before_it_kills_and_says_why_if_the_survivor_hangs(capsys) -> None:
    observer = _Observer()
    observer.start()
    trainer = SimpleNamespace(
        world_size=2,
        global_rank=0,
        current_epoch=3,
        state=SimpleNamespace(fn=TrainerFn.FITTING),
        checkpoint_callback=SimpleNamespace(last_model_path="", best_model_path="/run/epoch=2.ckpt"),
    )
    try:
        assert patient_launcher(trainer, 0.2)  # type: ignore[arg-type]
        assert patient_launcher(trainer, 0.2)  # type: ignore[arg-type]  # a second run does not wait twice
        start = time.monotonic()
        observer._terminate_all()
        assert len(observer.terminated) == 1 and 0.2 <= observer.terminated[0] - start < 0.4
    finally:
        observer.stop.set()
    assert capsys.readouterr().err.strip() == (
        "error: process 1 of 2 stopped (killed by signal 9) during training at epoch 3; resume with --ckpt_path "
        "/run/epoch=2.ckpt (the survivors did not stop by themselves)"
    )


def _killed_fit(root: Path, when: str, *extra: str) -> tuple[int, str, float]:
    process = _paint(
        "fit",
        "--config",
        str(TINY),
        f"--trainer.default_root_dir={root}",
        KILL,
        "--trainer.callbacks.epoch=1",
        f"--trainer.callbacks.when={when}",
        f"--trainer.callbacks.stamp={root.parent / (root.name + '.killed')}",
        *extra,
        wait=False,
    )
    assert process is not None
    output, _ = process.communicate(timeout=150)  # no hang: the survivor stops at its next collective
    killed = root.parent / (root.name + ".killed")
    assert killed.is_file(), output[-3000:]  # the probe did kill rank 1
    return process.returncode, output, time.time() - float(killed.read_text())


def _assert_one_line_naming_the_checkpoint(code: int, output: str, seconds: float, when: str) -> re.Match:
    assert code == 1, output[-3000:]
    assert seconds < 120  # from the kill to the survivor's exit (about 1 s with gloo)
    print(f"survivor exited {seconds:.2f} s after the kill")
    line = LINE.search(output)
    assert line is not None, output[-3000:]
    assert line["phase"] == {"training": "training", "sweep": "the sweep"}[when]
    assert Path(line["ckpt"]).is_file() and "epoch=0" in line["ckpt"]
    assert "Traceback" not in output and "This is a bug" not in output
    return line


@pytest.mark.slow
def test_a_process_killed_in_training_ends_the_run_with_one_line_naming_the_checkpoint(tmp_path) -> None:
    """Rank 1 SIGKILLed in epoch 1 (of 2): rank 0 exits with status 1 within 2 minutes and says where
    to resume; the collective timeout can be set (`--trainer.strategy.timeout`). (Killed in the
    sweep: the next test.)"""
    strategy = [
        "--trainer.devices=2",
        "--trainer.strategy=lightning.pytorch.strategies.DDPStrategy",
        "--trainer.strategy.timeout=0:02:00",
    ]
    _assert_one_line_naming_the_checkpoint(*_killed_fit(tmp_path / "fit", "training", *strategy), "training")


@pytest.mark.slow
def test_a_process_killed_in_the_sweep_ends_the_run_in_one_line_and_resuming_gives_the_uninterrupted_result(
    tmp_path,
) -> None:
    """Rank 1 SIGKILLed in epoch 1's sweep: rank 0 exits with status 1 within 2 minutes naming the
    checkpoint, and a fit resumed from it ends exactly as a fit that was never interrupted."""
    _paint("fit", "--config", str(TINY), *DDP, f"--trainer.default_root_dir={tmp_path / 'whole'}")
    line = _assert_one_line_naming_the_checkpoint(*_killed_fit(tmp_path / "killed", "sweep", *DDP), "sweep")
    _paint(
        "fit",
        "--config",
        str(TINY),
        *DDP,
        f"--trainer.default_root_dir={tmp_path / 'resumed'}",
        f"--ckpt_path={line['ckpt']}",
    )
    (whole,) = _reports(tmp_path / "whole")
    (resumed,) = _reports(tmp_path / "resumed")
    assert len(resumed["history"]) == len(whole["history"]) == 2
    assert _sweep_view(resumed) == _sweep_view(whole)
    assert resumed["test"]["tasks"] == whole["test"]["tasks"]
