"""Peak host memory of each phase of a ``paint`` run, per process (used by ``benchmarks/scale.py``).

``paint fit``: the callback :class:`PhaseMemory` (``--trainer.callbacks+=scale_probe.PhaseMemory``,
with ``benchmarks/`` on ``PYTHONPATH``) writes ``rank<N>.json`` per process. ``paint parallel``:
``python benchmarks/scale_probe.py <out.json> parallel ...`` runs the command with the same probes.

A phase's figures: ``before`` (resident memory when it starts, after freed heap is handed back to
the OS with ``malloc_trim``) and ``peak`` (the kernel's high-water mark ``VmHWM`` over the phase,
reset at its start by ``echo 5 > /proc/self/clear_refs``); ``peak - before`` is what the phase
added. Run the processes with ``MALLOC_MMAP_THRESHOLD_=65536`` so that large buffers are their
own mappings and go back to the OS when freed (no freed memory can be reused unseen).
Phases of a fit: ``model`` (set-up to the first training batch: the process with both towers),
``fit`` (training, from the first batch to the sweep), ``sweep``, ``checkpoint`` and ``export``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import json
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer


def status_kib(key: str) -> int:
    """A field of ``/proc/self/status`` in KiB (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


def release_free_heap() -> None:
    """Collects garbage and hands freed heap pages back to the OS (so later peaks cannot hide in them)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _release_and_reset() -> int:
    """Hands freed heap back to the OS, resets the peak; returns the resident bytes now."""
    release_free_heap()
    Path("/proc/self/clear_refs").write_text("5")
    return status_kib("VmRSS") * 1024


class Phases:
    """Figures of named phases: ``{name: {"before", "peak", "seconds"}}`` in bytes and seconds."""

    def __init__(self) -> None:
        self.figures: dict[str, dict[str, float]] = {}
        self._open: tuple[str, int, float] | None = None

    def start(self, name: str) -> None:
        """Closes the open phase and starts ``name``."""
        self.stop()
        self._open = (name, _release_and_reset(), time.perf_counter())

    def stop(self) -> None:
        """Closes the open phase (if any); of a name seen twice, the call that added most is kept
        (seconds are summed)."""
        if self._open is None:
            return
        name, before, began = self._open
        self._open = None
        now = {"before": float(before), "peak": status_kib("VmHWM") * 1024.0, "seconds": time.perf_counter() - began}
        old = self.figures.get(name)
        if old is not None:
            now["seconds"] += old["seconds"]
            if old["peak"] - old["before"] >= now["peak"] - now["before"]:
                now = {**old, "seconds": now["seconds"]}
        self.figures[name] = now

    @contextlib.contextmanager
    def phase(self, name: str, then: str | None = None) -> Iterator[None]:
        """The block as phase ``name``; afterwards ``then`` (if given) is open."""
        self.start(name)
        try:
            yield
        finally:
            self.stop()
            if then is not None:
                self.start(then)

    def wrap(self, function: Callable[..., Any], name: str, then: str | None = None) -> Callable[..., Any]:
        """``function`` with each call measured as phase ``name``."""

        @functools.wraps(function)
        def measured(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name, then):
                return function(*args, **kwargs)

        return measured

    def summary(self, **extra: Any) -> dict[str, Any]:
        """The figures, the process's lifetime peak (``ru_maxrss``) and ``extra``."""
        self.stop()
        lifetime = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0
        return {"phases": self.figures, "lifetime_peak": lifetime, **extra}


def tower_bytes(module: Any) -> int:
    """Float32 bytes of one whole (unsharded) image tower: what every figure is divided by."""
    tower = module.clip.visual
    return sum(int(t.numel()) * t.element_size() for t in [*tower.parameters(), *tower.buffers()])


class PhaseMemory(Callback):
    """Writes ``<directory>/rank<N>.json``: each fit phase's figures in this process.

    Args:
        directory: Where the files go.
    """

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.phases = Phases()
        self.tower = 0
        self.chunks = 0  # chunks of held-out images the sweeps staged, in this process

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Measures the sweep, checkpoint writes and the export by wrapping them."""
        from paint_lightning.callbacks import InterpolationSweep
        from paint_lightning.callbacks import interpolation_sweep as sweep_module
        from paint_lightning.engine import sweeper

        chunks = sweeper._chunks

        def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
            for chunk in chunks(*args, **kwargs):
                self.chunks += 1
                yield chunk

        sweeper._chunks = counted

        self.tower = tower_bytes(pl_module)  # before FSDP shards it
        self.phases.start("model")
        for callback in trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(callback, InterpolationSweep):
                callback.sweep = self.phases.wrap(callback.sweep, "sweep")  # type: ignore[method-assign]
        sweep_module.export_selected_model = self.phases.wrap(sweep_module.export_selected_model, "export")
        trainer.save_checkpoint = self.phases.wrap(trainer.save_checkpoint, "checkpoint")  # type: ignore[method-assign]

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, *args: object) -> None:
        """Opens the training phase at the first batch."""
        if "fit" not in self.phases.figures and (self.phases._open or ("",))[0] != "fit":
            self.phases.start("fit")

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Closes the training phase (the sweep, which runs in this hook too, opens its own)."""
        if self.phases._open is not None and self.phases._open[0] == "fit":
            self.phases.stop()

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Writes this process's figures."""
        self.directory.mkdir(parents=True, exist_ok=True)
        figures = self.phases.summary(
            tower=self.tower, rank=trainer.global_rank, world=trainer.world_size, chunks=self.chunks
        )
        (self.directory / f"rank{trainer.global_rank}.json").write_text(json.dumps(figures))


def parallel_main(out: str, argv: list[str]) -> None:
    """``paint parallel`` with its phases measured: ``load`` (the runs), ``search``, ``test``, ``export``."""
    import paint_lightning.commands.parallel as parallel
    from paint_lightning.commands.cli import main

    phases = Phases()
    towers: list[int] = []
    load_runs = parallel.load_runs

    def loaded(*args: Any, **kwargs: Any) -> Any:
        runs, ends = load_runs(*args, **kwargs)
        towers.append(tower_bytes(runs[0].module))
        return runs, ends

    parallel.load_runs = phases.wrap(loaded, "load", then="search")
    parallel._test = phases.wrap(parallel._test, "test")
    parallel.export_model = phases.wrap(parallel.export_model, "export")
    phases.start("setup")
    main(argv)
    Path(out).write_text(json.dumps(phases.summary(tower=towers[0], rank=0, world=1)))


if __name__ == "__main__":
    parallel_main(sys.argv[1], sys.argv[2:])
