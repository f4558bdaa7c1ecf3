"""(i) gpu_sweep: the alpha sweep's images/s on a GPU vs the same model's pure forward rate.

Models: ViT-B-32 and ViT-L-14 built by ``CLIPSource(name=...)``, random init (no download; speed
does not depend on the weights), ``bf16-mixed`` (bf16 autocast). Data: synthetic 224 px PIL images
(two tasks), decoded once through the model's own eval transform into the DataModule's cache as
uint8, page-locked: batches cross PCIe as uint8 and are finished (float, /255, Normalize) on the
GPU. Batch ``--batch`` (default 512) for both sides.

Sweep: ``InterpolationSweep.sweep`` (a fresh callback: all 11 alphas, product defaults), images x
alphas per second. Forward limit: the same module's forward (tower + head) under the same autocast
context, same batches, over the same images already on the GPU as finished floats, 11 passes, no
weight changes. ratio = forward rate / sweep rate (medians of interleaved repetitions, after a
warm-up of each). Targets: ratio <= 1.15 for each model; sweep >= 25,000 images/s (ViT-B-32) and
>= 2,500 images/s (ViT-L-14) on an H100/H200-class GPU (a miss of either makes the line MISS).

Without CUDA it prints a SKIP line; ``--smoke`` runs the same code on the CPU with a tiny tower and
a few images (to check the script, not to measure anything).
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from common import (
    ALPHAS,
    SWEEP_TOWER,
    Result,
    Stopwatch,
    attach,
    build_module,
    configure,
    interleave,
    median,
    new_sweep,
)
from common import paired_ratio as paired

from paint_lightning import CLIPSource, PaintDataModule, PaintModule, Task
from paint_lightning.data.cache import ByteBatch, TensorDataset
from paint_lightning.data.synthetic import ColourPatchSource

TARGET = 1.15
MODELS: dict[str, tuple[int, float]] = {"ViT-B-32": (2048, 25_000.0), "ViT-L-14": (512, 2_500.0)}  # per task; img/s
SMOKE: dict[str, tuple[int, float]] = {"tiny tower": (16, 0.0)}
TASKS = ("patch", "support")


def datamodule(per_task: int, image_size: int, batch: int, workers: int) -> PaintDataModule:
    """Two tasks of ``per_task`` held-out PIL images each (the model's eval transform is set in ``setup``)."""
    sources = [ColourPatchSource(10, 2 * per_task, 8, image_size, seed) for seed in (1, 2)]
    tasks = [Task(name, source) for name, source in zip(TASKS, sources, strict=True)]
    return PaintDataModule(
        patch=tasks[:1],
        support=tasks[1:],
        batch_size=batch,
        num_workers=workers,
        heldout_fraction=0.5,
        eval_cache_mb=4096,
    )


@torch.no_grad()
def forward_passes(module: PaintModule, batches: list[tuple[str, torch.Tensor]], context: Any) -> None:
    """11 forward passes over ``batches`` (already on the device, finished), no weight changes."""
    module.eval()
    for _ in ALPHAS:
        with context():
            for task, images in batches:
                module(images, task)


def measure(name: str, per_task: int, device: str, batch: int, reps: int, root: Path) -> dict[str, Any]:
    """Sweep and forward seconds of one model (``name`` or the tiny tower), the bytes a batch moves, the set-up."""
    tiny = name not in MODELS
    module = (
        build_module(SWEEP_TOWER) if tiny else PaintModule(CLIPSource(name=name, random_init=True), head_cache_dir=None)
    )
    size = SWEEP_TOWER["image_size"] if tiny else module.clip.visual.image_size[0]
    data = datamodule(per_task, size, batch, 8 if device == "cuda" else 0)
    trainer = attach(module, data, root, accelerator=device, precision="bf16-mixed")
    module.to(device)  # the fit of zero steps moved it back to the CPU
    sets = data.cached_heldout_sets()  # decoded once, outside the timings
    assert all(isinstance(sets[t], TensorDataset) for t in TASKS), "held-out sets not cached: raise eval_cache_mb"
    first = next(iter(data.eval_dataloader(sets[TASKS[0]])))
    assert isinstance(first, ByteBatch) and first.images.dtype == torch.uint8, "batches should cross as uint8"
    batches = [
        (task, sets[task].finish(chunk.to(device)).contiguous())  # type: ignore[attr-defined]
        for task in TASKS
        for chunk in sets[task].images.split(batch)  # type: ignore[attr-defined]
    ]
    context = trainer.precision_plugin.forward_context

    def sweep() -> float:
        callback = new_sweep(trainer, module)
        with Stopwatch() as watch:
            callback.sweep(trainer, module, loggable=False)
        return watch.seconds

    def forward() -> float:
        with Stopwatch() as watch:
            forward_passes(module, batches, context)
        return watch.seconds

    sweep(), forward()  # warm-up of both paths
    times = interleave({"sweep": sweep, "forward": forward}, reps, f"gpu_sweep {name}")
    images = sum(len(sets[t]) for t in TASKS)  # type: ignore[arg-type]
    one = first.images[:1]
    out = {
        "images": images,
        "size": size,
        "sweep_s": median(times["sweep"]),
        "forward_s": median(times["forward"]),
        "ratio": paired(times["sweep"], times["forward"]),
        "uint8_bytes": one.nbytes,
        "float_bytes": first.finish(one).nbytes,
        "pinned": bool(sets[TASKS[0]].images.is_pinned()) if device == "cuda" else False,  # type: ignore[attr-defined]
    }
    return out


def run(smoke: bool = False, batch: int = 512, reps: int = 3) -> Result:
    """Sweep images/s and its ratio to the forward rate, per model."""
    if not smoke and not torch.cuda.is_available():
        return Result("gpu_sweep", None, "<=", TARGET, skip_reason="no CUDA device")
    configure()
    models, batch, reps = (SMOKE, 8, 1) if smoke else (MODELS, batch, reps)
    details: dict[str, str] = {}
    ratios, misses = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (per_task, target) in models.items():
            m = measure(name, per_task, "cpu" if smoke else "cuda", batch, reps, Path(tmp))
            gc.collect()  # the model, its trainer and its data are gone: free their device memory
            if not smoke:
                torch.cuda.empty_cache()
            sweep_ips = m["images"] * len(ALPHAS) / m["sweep_s"]
            forward_ips = m["images"] * len(ALPHAS) / m["forward_s"]
            verdict = "" if smoke else (" OK" if sweep_ips >= target else " MISS")
            if verdict == " MISS":
                misses.append(f"{name} {sweep_ips:.0f} < {target:.0f} images/s")
            ratios.append(m["ratio"])
            details[name] = (
                f"sweep {sweep_ips:.0f} images/s{'' if smoke else f' (target >= {target:.0f}){verdict}'}, "
                f"forward {forward_ips:.0f} images/s, ratio {m['ratio']:.3f} "
                f"({m['images']} held-out images at {m['size']} px x 11 alphas, batch {batch}; "
                f"median s: sweep {m['sweep_s']:.3f}, forward {m['forward_s']:.3f})"
            )
            details["PCIe bytes per image"] = (
                f"{m['uint8_bytes']} as uint8 (cache pinned: {m['pinned']}) vs {m['float_bytes']} as float32 "
                f"({m['float_bytes'] / m['uint8_bytes']:.0f}x fewer)"
            )
    device = torch.cuda.get_device_name() if not smoke else "CPU (smoke test)"
    details = {"device": f"{device}, torch {torch.__version__}, bf16-mixed", **details}
    worst = max(ratios)
    reason = f"smoke test on the CPU, {worst:.2f}x is not a GPU figure" if smoke else None
    return Result(
        "gpu_sweep", None if smoke else worst, "<=", TARGET, skip_reason=reason, details=details, misses=misses
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run on the CPU with a tiny tower (checks the script)")
    parser.add_argument("--batch", type=int, default=512, help="evaluation batch size (sweep and forward)")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions of each side")
    args = parser.parse_args()
    result = run(args.smoke, args.batch, args.reps)
    print(result.report())
    sys.exit(0 if result.status != "MISS" else 1)
