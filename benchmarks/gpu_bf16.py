"""(e) gpu_bf16: ViT-B-32 fine-tuning on a GPU, ``bf16-mixed`` Trainer.fit vs the reference's fp32 loop.

Model: ``CLIPSource(name="ViT-B-32", random_init=True)``, random init (no download; speed does not depend on the
weights). Data: preloaded 224 px tensors through ``PaintDataModule.train_dataloader()`` (batch 128,
6 workers each, pinned memory), so the GPU, not decoding, is what is timed. Ours:
``Trainer.fit(precision="bf16-mixed")`` with ``paint fit``'s defaults; reference: a plain fp32
loop (fp32 matmuls, PyTorch's default: no TF32), AdamW, clipping at 1.0. The two are interleaved
step by step in one process (``paired.py``). Also reports the alpha sweep's throughput
(``InterpolationSweep.sweep``, bf16 autocast, held-out sets cached in memory, 11 alphas).

Without CUDA it prints a SKIP line; ``--smoke`` runs the same code on the CPU with a tiny tower
(to check the script, not to measure anything).
"""

from __future__ import annotations

import argparse
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
    TensorImageSource,
    attach,
    build_module,
    configure,
    identity,
    median,
    new_sweep,
)
from paired import paired_fit

from paint_lightning import CLIPSource, PaintDataModule, PaintModule, Task

TARGET = 2.0
BATCH = 128
SKIP = 5
TIMED = 30
STEPS = SKIP + TIMED
HELDOUT_PER_TASK = 512


def make_datamodule(image_size: int, workers: int, heldout: float = 0.1, num_train: int | None = None) -> Any:
    """A factory of DataModules over preloaded tensors (identity transforms, pinned memory)."""

    def factory(module: PaintModule | None = None) -> PaintDataModule:
        train = num_train or int(BATCH * (STEPS + 2) / (1 - heldout))
        tasks = [Task(n, TensorImageSource(10, train, 8, image_size)) for n in ("patch", "support")]
        data = PaintDataModule(
            patch=tasks[:1],
            support=tasks[1:],
            batch_size=BATCH,
            num_workers=workers,
            heldout_fraction=heldout,
            pin_memory=workers > 0,
        )
        data.set_transforms(identity, identity)
        return data

    return factory


def sweep_throughput(module: PaintModule, device: str, image_size: int, workers: int, root: Path) -> float:
    """Held-out image-alphas per second of ``InterpolationSweep.sweep`` (median of 3, after a warm-up)."""
    data = make_datamodule(image_size, workers, heldout=0.5, num_train=2 * HELDOUT_PER_TASK)()
    trainer = attach(module, data, root, accelerator=device, precision="bf16-mixed")
    module.to(device)  # the fit of zero steps moved it back to the CPU
    images = sum(len(s) for s in data.cached_heldout_sets().values())  # type: ignore[arg-type]
    times = []
    for _ in range(4):
        with Stopwatch() as watch:
            new_sweep(trainer, module).sweep(trainer, module, False)
        times.append(watch.seconds)
    return images * len(ALPHAS) / median(times[1:])


def run(smoke: bool = False) -> Result:
    """Fine-tuning images/s (bf16 Trainer.fit vs fp32 loop) and sweep images/s."""
    if not smoke and not torch.cuda.is_available():
        return Result("gpu_bf16", None, ">=", TARGET, skip_reason="no CUDA device")
    configure()
    device, image_size, workers = ("cpu", SWEEP_TOWER["image_size"], 0) if smoke else ("cuda", 224, 6)
    if smoke:
        template = build_module(SWEEP_TOWER, warmup_steps=SKIP)
    else:
        template = PaintModule(CLIPSource(name="ViT-B-32", random_init=True), head_cache_dir=None, warmup_steps=SKIP)
    factory = make_datamodule(image_size, workers)
    template.set_tasks(factory().task_specs())
    with tempfile.TemporaryDirectory() as tmp:
        timer = paired_fit(template, Path(tmp), factory, STEPS, SKIP, device=device, precision="bf16-mixed")
        ours_ips, fp32_ips = BATCH / median(timer.ours), BATCH / median(timer.theirs)
        sweep_ips = sweep_throughput(template, device, image_size, workers, Path(tmp))
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU (smoke test)"
    ratio = ours_ips / fp32_ips
    return Result(
        "gpu_bf16",
        None if smoke else ratio,
        ">=",
        TARGET,
        skip_reason=f"smoke test on the CPU, {ratio:.2f}x is not a GPU figure" if smoke else None,
        details={
            "device": f"{name}, torch {torch.__version__}",
            "model": "ViT-B-32 (random init), 224 px" if not smoke else "tiny tower (smoke test)",
            "fp32 reference loop": f"{fp32_ips:.0f} images/s (median step {median(timer.theirs) * 1e3:.1f} ms)",
            "bf16-mixed Trainer.fit": f"{ours_ips:.0f} images/s (median step {median(timer.ours) * 1e3:.1f} ms)",
            "alpha sweep (bf16, cached)": f"{sweep_ips:.0f} image-alphas/s",
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run on the CPU with a tiny tower (checks the script)")
    result = run(parser.parse_args().smoke)
    print(result.report())
    sys.exit(0 if result.status != "MISS" else 1)
