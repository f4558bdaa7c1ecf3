"""(d) sweep_memory: extra host memory while sweeping, in copies of the image tower.

A ViT image tower of ~57M parameters (width 768, 8 layers, 32 px images) makes the weights
dominate; held-out data is tiny (2 x 16 images). In a fresh child process (so no memory freed
earlier in the process can be silently reused), after set-up, decoding the held-out sets and one
warm-up forward pass, freed heap memory is handed back to the OS (``malloc_trim``) and the peak RSS
is reset (``echo 5 > /proc/self/clear_refs``), one
``InterpolationSweep.sweep`` over 11 alphas runs, and ``VmHWM - VmRSS(before)`` is divided by the
tower's bytes. The live model and its zero-shot copy exist before the sweep and are not counted.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from common import BIG_TOWER, Result, attach, build_module, configure, new_sweep, simulate_finetuning, tower_params
from scale_probe import release_free_heap, status_kib

from paint_lightning import PaintDataModule, Task
from paint_lightning.data.cache import finished
from paint_lightning.data.synthetic import ColourPatchSource

TARGET = 2.0
HELDOUT_PER_TASK = 16


def measure() -> dict[str, float]:
    """Runs in the child: peak extra bytes of one sweep, and the tower's bytes."""
    configure()
    module = build_module(BIG_TOWER)
    simulate_finetuning(module, scale=0.001)
    sources = [ColourPatchSource(num_classes=4, num_train=2 * HELDOUT_PER_TASK, image_size=32, seed=s) for s in (1, 2)]
    tasks = [Task(name, source) for name, source in zip(("patch", "support"), sources, strict=True)]
    datamodule = PaintDataModule(patch=tasks[:1], support=tasks[1:], heldout_fraction=0.5, num_workers=0)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = attach(module, datamodule, Path(tmp))
        sets = datamodule.cached_heldout_sets()
        with torch.no_grad():
            images, _ = finished(sets["patch"].__getitems__(list(range(8))))  # type: ignore[attr-defined]
            module.eval()(images, "patch")
        module.train()
        gc.collect()
        release_free_heap()
        before = status_kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        new_sweep(trainer, module).sweep(trainer, module, loggable=False)
        peak = status_kib("VmHWM")
    visual = module.clip.visual
    tower = sum(t.nbytes for t in [*visual.parameters(), *visual.buffers()])
    return {"extra": (peak - before) * 1024.0, "tower": float(tower), "params": float(tower_params(module))}


def run() -> Result:
    """Measures in a child process and reports copies of the tower."""
    child = subprocess.run(
        [sys.executable, __file__, "--child"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    copies = figures["extra"] / figures["tower"]
    return Result(
        "sweep_memory",
        copies,
        "<=",
        TARGET,
        details={
            "setup": f"tower {figures['params'] / 1e6:.1f}M params = {figures['tower'] / 2**20:.0f} MiB, "
            f"2 x {HELDOUT_PER_TASK} held-out images at 32 px, 11 alphas",
            "peak extra RSS during the sweep": f"{figures['extra'] / 2**20:.0f} MiB",
            "copies of the tower": f"{copies:.2f}",
        },
    )


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(measure()))
    else:
        result = run()
        print(result.report())
        sys.exit(0 if result.status != "MISS" else 1)
