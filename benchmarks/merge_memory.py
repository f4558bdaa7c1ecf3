"""merge_memory: peak extra host memory of each merge, as a multiple of the task vectors' bytes.

Set-up: the image tower of an open_clip architecture (random weights, float32; ``ViT-B-32``,
87.8M parameters, by default; ``ViT-S-32`` in ``benchmarks/run.py``, to stay under a minute) as
the start point and 4 end points (start + small noise), all made before the measurement; the task
vectors' bytes are ``4 x`` the tower's float32 bytes (what a merge must at least read).

Measure: the merges run one after the other in a child process started with
``MALLOC_MMAP_THRESHOLD_=65536``, so that every large buffer (torch's CPU tensors and the kernels'
own work space, e.g. ``kthvalue``'s copy or LAPACK's) is its own ``mmap`` and goes back to the OS
when freed: no memory freed by an earlier merge can be silently reused by the next. Before each
merge, freed heap is trimmed (``malloc_trim``) and the peak RSS is reset
(``echo 5 > /proc/self/clear_refs``); the merge runs and ``VmHWM - VmRSS(before)`` is its extra
memory: every page it touched at its peak, counted by the kernel, including the merged end point
it returns (one tower, 0.25x here). ``tracemalloc`` would not see torch's allocations, and counting
tensor bytes would miss kernels' work space. (One fresh process per merge gave the same ratios to
two decimals for ViT-B-32.)

``flat`` is the implementation of 09c0260 (whole-model task vectors, TIES on concatenated rows),
kept below as the baseline; ``streamed`` is :func:`paint_lightning.interpolation.merges.merge_end_point`.
``parallel`` is the parallel search's write of a 4-coefficient mix into a live tower
(:class:`~paint_lightning.interpolation.combine.InPlaceCombiner`, the same code in both columns).

Usage: ``python benchmarks/merge_memory.py [--arch ViT-B-32] [--tasks 4] [--methods ...]``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from common import Result

from paint_lightning.interpolation.combine import InPlaceCombiner
from paint_lightning.interpolation.merges import merge_end_point
from paint_lightning.interpolation.mix import Mix

TARGET = 1.5
METHODS = ("task_arithmetic", "ties", "iso_c", "tsv", "parallel")
QUICK = ("task_arithmetic", "ties", "parallel")  # the run.py line (with ViT-S-32): under a minute


def flat_merge(method: str, start: dict, ends: list, density: float = 0.2) -> dict:
    """The merges of 09c0260: every task vector built first; TIES on whole-model flat rows."""
    names = [n for n, t in start.items() if t.is_floating_point()]
    vectors = [{n: e[n].float() - start[n].float() for n in names} for e in ends]
    if method == "task_arithmetic":
        merged = {n: torch.stack([v[n] for v in vectors]).sum(dim=0) for n in names}
    elif method == "ties":
        flat = torch.stack([torch.cat([v[n].flatten() for n in names]) for v in vectors])
        keep = math.ceil(density * flat.shape[1])
        rows = []
        for row in flat:
            magnitude = row.abs()
            threshold = magnitude.kthvalue(row.numel() - keep + 1).values
            rows.append(torch.where(magnitude >= threshold, row, torch.zeros_like(row)))
        trimmed = torch.stack(rows)
        elected = torch.sign(trimmed.sum(dim=0))
        majority = torch.sign(elected.sum())
        elected[elected == 0] = majority if majority != 0 else 1.0
        agree = torch.where(elected > 0, trimmed > 0, trimmed < 0)
        total = (trimmed * agree).sum(dim=0) / agree.sum(dim=0).clamp(min=1)
        merged, offset = {}, 0
        for n in names:
            size = start[n].numel()
            merged[n] = total[offset : offset + size].view(start[n].shape).clone()
            offset += size
    else:  # iso_c and tsv were per matrix already, after building every task vector as above
        result = merge_end_point(method, start, ends)
        del vectors
        return result
    return {n: (t.float() + merged[n]).to(t.dtype) if n in merged else t.clone() for n, t in start.items()}


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


def child(arch: str, tasks: int, methods: list[str]) -> dict[str, dict[str, float]]:
    """In a fresh process: per method and implementation, the peak extra bytes and the seconds."""
    import open_clip

    torch.set_num_threads(1)
    torch.manual_seed(0)
    tower = open_clip.create_model(arch, pretrained=None).visual
    start = {k: v.detach().clone() for k, v in tower.state_dict().items()}
    del tower
    ends = [
        {k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v for k, v in start.items()}
        for _ in range(tasks)
    ]
    live = {k: v.clone() for k, v in start.items()}  # the parallel search's model, there before it
    figures: dict[str, dict[str, float]] = {
        "vectors": {"bytes": float(tasks * sum(4 * v.numel() for v in start.values() if v.is_floating_point()))}
    }
    for method in methods:
        for variant in ("flat", "streamed"):
            gc.collect()
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL("libc.so.6").malloc_trim(0)
            before = _status_kib("VmRSS")
            Path("/proc/self/clear_refs").write_text("5")
            began = time.perf_counter()
            if method == "parallel":  # the same code in both columns
                with InPlaceCombiner(live, start, ends) as combiner:
                    combiner.set(Mix.of(*[0.3 + 0.1 * i for i in range(tasks)]))
            elif variant == "flat":
                flat_merge(method, start, ends)
            else:
                merge_end_point(method, start, ends)
            peak = _status_kib("VmHWM")
            figures.setdefault(method, {})[variant] = (peak - before) * 1024.0
            figures[method][f"{variant}_s"] = time.perf_counter() - began
    return figures


def measure(arch: str, tasks: int, methods: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Per method: peak extra memory over the task vectors' bytes (flat, streamed) and seconds."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
    args = [sys.executable, __file__, "--child", arch, str(tasks), *methods]
    out = subprocess.run(args, capture_output=True, text=True, check=True, cwd=Path(__file__).parent, env=env)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    vectors = figures.pop("vectors")["bytes"]
    ratios = {
        m: {**row, "flat": row["flat"] / vectors, "streamed": row["streamed"] / vectors} for m, row in figures.items()
    }
    return {"vectors": {"gib": vectors / 2**30}, **ratios}


def run(arch: str = "ViT-B-32", tasks: int = 4, methods: tuple[str, ...] = QUICK) -> Result:
    """The benchmark line: the largest streamed ratio (target <= 1.5x), with every figure."""
    ratios = measure(arch, tasks, methods)
    details = {"set-up": f"{arch} image tower, {tasks} task vectors = {ratios.pop('vectors')['gib']:.2f} GiB"}
    for method, row in ratios.items():
        flat = f"flat {row['flat']:.2f}x ({row['flat_s']:.0f} s)"
        details[method] = f"{flat}, streamed {row['streamed']:.2f}x ({row['streamed_s']:.0f} s)"
    return Result("merge_memory", max(row["streamed"] for row in ratios.values()), "<=", TARGET, details=details)


def quick() -> Result:
    """The ``benchmarks/run.py`` line: ViT-S-32, 4 tasks, task arithmetic, TIES and the parallel mix."""
    return run("ViT-S-32", 4, QUICK)


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]), sys.argv[4:])))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--arch", default="ViT-B-32")
        parser.add_argument("--tasks", type=int, default=4)
        parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
        cli = parser.parse_args()
        result = run(cli.arch, cli.tasks, tuple(cli.methods))
        print(result.report())
        sys.exit(0 if result.status != "MISS" else 1)
