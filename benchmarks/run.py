"""Runs every benchmark and ends with one line each: ``<name> <measured> <op> <target> OK|MISS|SKIP``.

Usage: ``python benchmarks/run.py [--only NAME ...]`` (a few minutes on a 2-core CPU). Exits with 1
when a benchmark misses its target or fails; SKIP (no CUDA device for ``gpu_bf16`` and
``gpu_sweep``) is not a miss.
Groups in ``ON_REQUEST`` (minutes each) run only when named in ``--only``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable

import epoch_eval
import gpu_bf16
import gpu_sweep
import live_sweep
import merge_memory
import scale
import startup
import sweep_memory
import sweep_vs_limit
import sweep_vs_naive
import torch
import train_vs_bare
from common import THREADS, Result

BENCHMARKS: dict[str, tuple[Callable[[], Result], str, float]] = {
    "sweep_vs_naive": (sweep_vs_naive.run, ">=", sweep_vs_naive.TARGET),
    "sweep_vs_limit": (sweep_vs_limit.run, "<=", sweep_vs_limit.TARGET),
    "train_vs_bare": (train_vs_bare.run, ">=", train_vs_bare.TARGET),
    "sweep_memory": (sweep_memory.run, "<=", sweep_memory.TARGET),
    "epoch_eval": (epoch_eval.run, "<=", epoch_eval.TARGET),
    "gpu_bf16": (gpu_bf16.run, ">=", gpu_bf16.TARGET),
    "gpu_sweep": (gpu_sweep.run, "<=", gpu_sweep.TARGET),
    "merge_memory": (merge_memory.quick, "<=", merge_memory.TARGET),
    "startup": (lambda: startup.run(40_000), "<=", startup.TARGET),
}
ON_REQUEST: dict[str, tuple[Callable[[], Result], str, float]] = {
    "startup_200k": (lambda: startup.run(200_000), "<=", startup.TARGET),  # ~2 minutes, most of it writing files
    # Real-size CLIPs, random weights; 1.0 = every target met (see benchmarks/scale.py). ~16 minutes, ~4 GB.
    "scale_b32": (lambda: scale.run("ViT-B-32"), "<=", 1.0),
    # ViT-L-14 on one process without checkpoints (2 processes or a checkpoint need > 16 GB): ~11 minutes, 12 GB.
    "scale_l14": (lambda: scale.run("ViT-L-14", (("ddp", 1),), heldout=8, runs=0, checkpoint=False), "<=", 1.0),
    "live_sweep": (live_sweep.run, "<=", live_sweep.TARGET),  # ~10 minutes: the quickstart twice
}


def main() -> int:
    """Runs the selected benchmarks; prints details as they finish, then the final lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted({**BENCHMARKS, **ON_REQUEST}), default=list(BENCHMARKS))
    names = parser.parse_args().only
    print(
        f"paint-lightning benchmarks, {datetime.date.today()}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, {THREADS} intra-op thread(s), "
        f"CUDA: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}",
        flush=True,
    )
    results: list[Result] = []
    start = time.perf_counter()
    for name in names:
        run, op, target = {**BENCHMARKS, **ON_REQUEST}[name]
        began = time.perf_counter()
        try:
            result = run()
        except Exception as err:
            traceback.print_exc()
            result = Result(name, None, op, target, skip_reason=f"failed: {type(err).__name__}")
            result.details["error"] = str(err)
        print(f"{result.report()}\n  ({time.perf_counter() - began:.0f} s)", flush=True)
        results.append(result)
    print(f"\nAll done in {time.perf_counter() - start:.0f} s.\n")
    for result in results:
        print(result.line())
    failed = [r for r in results if r.status == "MISS" or (r.skip_reason or "").startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
