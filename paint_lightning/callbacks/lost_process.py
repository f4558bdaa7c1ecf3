"""When another process of a multi-process run stops: one line naming it and the checkpoint to resume from.

A process killed (out of memory, a node lost, SIGKILL) leaves the others inside a collective. With
gloo the survivors' next collective fails within moments ("Connection reset by peer"); with NCCL,
or a peer that is gone without closing its sockets, after the process group's timeout (Lightning's
default: 30 minutes; set it with ``--trainer.strategy=lightning.pytorch.strategies.DDPStrategy
--trainer.strategy.timeout=0:05:00``). :func:`lost_process_message` turns that failure into

    process 1 of 2 stopped (connection reset by peer) during the sweep at epoch 1; resume with --ckpt_path <ckpt>

which :class:`~paint_lightning.callbacks.preemption.PreemptionCheckpoint` attaches to the
exception (``paint_message``) for the ``paint`` command to print as its one line, exit status 1.
Lightning's launcher watches the processes it started and SIGKILLs the first one five seconds
after another dies; :func:`patient_launcher` makes it wait ``grace_s`` so that the first process
says why, and prints the line itself if that process does not finish (a collective that hangs).
"""

from __future__ import annotations

import re
import sys
import threading
import time
import traceback
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.trainer.states import TrainerFn

# What a collective says when another process is gone or does not answer: (pattern, reason).
_GONE = (
    (r"connection reset by peer", "connection reset by peer"),
    (r"connection closed by peer", "connection closed by peer"),
    (r"broken pipe", "broken pipe"),
    (r"timed out|timeout", "no answer before the process group's timeout"),
    (r"ncclRemoteError|remote process exited", "NCCL: the remote process exited"),
)
_DISTRIBUTED = ("DistError", "DistBackendError", "DistNetworkError", "DistStoreError")
# Where the failing collective was, by a function of the project on the stack (outermost wins).
_PHASES = {
    "export_selected_model": "the export",
    "evaluate_test": "the final test",
    "test_checkpoint": "the test",
    "after_last_sweep": "the per-block search",
    "sweep_alphas": "the sweep",
}
_OBSERVER = "child-process-observer"  # Lightning's thread watching the processes it started


def lost_process_reason(err: BaseException) -> str | None:
    """Why a collective failed if it failed because another process stopped, else ``None``."""
    link: BaseException | None = err
    seen: list[BaseException] = []
    while link is not None and link not in seen:
        seen.append(link)
        distributed = type(link).__name__ in _DISTRIBUTED
        if distributed or isinstance(link, RuntimeError):
            for pattern, reason in _GONE:
                if re.search(pattern, str(link), re.IGNORECASE):
                    return reason
            if distributed:
                return "a collective failed"
        link = link.__cause__ or link.__context__
    return None


def lost_process_message(trainer: Trainer, err: BaseException | None, reason: str | None = None) -> str | None:
    """The one line for a run whose other process stopped (``None`` if ``err`` is not that, or one process).

    Args:
        trainer: The trainer of the surviving process.
        err: The exception the failing collective raised (``None``: ``reason`` is known).
        reason: Why, when there is no exception (the other process's exit status).
    """
    reason = reason if err is None else lost_process_reason(err)
    if reason is None or trainer.world_size < 2:
        return None
    world, rank = trainer.world_size, trainer.global_rank
    who = f"process {1 - rank} of 2" if world == 2 else f"another of the {world} processes"
    fitting = trainer.state.fn == TrainerFn.FITTING
    phase = _phase(err) or ("training" if fitting else f"{trainer.state.fn.value if trainer.state.fn else 'the run'}")
    where = f" at epoch {trainer.current_epoch}" if fitting else ""
    return f"{who} stopped ({reason}) during {phase}{where}; {resume_hint(trainer)}"


def resume_hint(trainer: Trainer) -> str:
    """How to go on: the latest checkpoint of a fit (``--ckpt_path``), or run the command again."""
    if trainer.state.fn != TrainerFn.FITTING:
        return "run the command again"
    callback: Any = trainer.checkpoint_callback
    path = (getattr(callback, "last_model_path", "") or getattr(callback, "best_model_path", "")) if callback else ""
    return f"resume with --ckpt_path {path}" if path else "no checkpoint was saved before it: start the run again"


def patient_launcher(trainer: Trainer, grace_s: float) -> bool:
    """Makes Lightning's process observer wait ``grace_s`` before it kills this process (rank 0).

    Returns:
        Whether an observer was found (none in a process Lightning did not launch others from).
    """
    found = False
    for thread in threading.enumerate():
        terminate = getattr(thread, "_terminate_all", None)
        children = getattr(thread, "_child_processes", None)
        if thread.name != _OBSERVER or terminate is None or children is None:
            continue
        found = True
        if hasattr(thread, "paint_grace_s"):  # once per observer, however many runs
            continue

        def later(terminate: Any = terminate, children: list[Any] = children) -> None:
            time.sleep(grace_s)  # the main thread reports the failure and exits first, ending this thread
            codes = [p.returncode for p in children if p.returncode]
            code = codes[0] if codes else None
            reason = f"killed by signal {-code}" if code and code < 0 else f"exit status {code}"
            message = lost_process_message(trainer, None, reason) or reason
            print(f"error: {message} (the survivors did not stop by themselves)", file=sys.stderr, flush=True)
            terminate()

        thread._terminate_all = later  # type: ignore[attr-defined]
        thread.paint_grace_s = grace_s  # type: ignore[attr-defined]
    return found


def _phase(err: BaseException | None) -> str | None:
    if err is None:
        return None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.name in _PHASES and "paint_lightning" in frame.filename:
            return _PHASES[frame.name]
    return None
