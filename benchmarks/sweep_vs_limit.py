"""(b) sweep_vs_limit: our sweep vs its limit, 11 forward passes over preloaded tensors.

Ours: ``InterpolationSweep.sweep`` (fresh callback, so all 11 alphas) on held-out sets that the
DataModule has already decoded into memory (a later sweep: decoding is not part of the limit).
It interpolates the tower in place per alpha and classifies every held-out image at every alpha.

Limit: the same module's forward (image tower + normalisation + frozen head) over the same
images, already sliced into batches of 128, 11 times, with no weight changes at all. Whatever
ours costs beyond that is the sweep's overhead (weight interpolation, loaders, bookkeeping).
The tiny tower makes that overhead as visible as it can be (the cheapest forward per image).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

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
    paired_ratio,
    simulate_finetuning,
    tower_params,
)
from torch import Tensor

from paint_lightning import PaintDataModule, PaintModule, Task
from paint_lightning.data.synthetic import ColourPatchSource

TARGET = 1.15
HELDOUT_PER_TASK = 512
TASKS = ("patch", "support")


@torch.no_grad()
def forward_only(module: PaintModule, batches: list[tuple[str, Tensor]], passes: int) -> None:
    """``passes`` forward passes over preloaded batches: the limit of any sweep."""
    module.eval()
    for _ in range(passes):
        for task, images in batches:
            module(images, task)


def run(reps: int = 10) -> Result:
    """Times ours and the limit, interleaved."""
    configure()
    module = build_module(SWEEP_TOWER)
    simulate_finetuning(module)
    sources = [ColourPatchSource(num_classes=4, num_train=2 * HELDOUT_PER_TASK, image_size=48, seed=s) for s in (1, 2)]
    tasks = [Task(name, source) for name, source in zip(TASKS, sources, strict=True)]
    datamodule = PaintDataModule(patch=tasks[:1], support=tasks[1:], heldout_fraction=0.5)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = attach(module, datamodule, Path(tmp))
        sets = datamodule.cached_heldout_sets()  # decoded once, outside the timings
        # The cache holds uint8 images; the limit gets them already as float (normalised), so the
        # sweep's per-batch conversion counts against ours.
        batches = [
            (name, sets[name].finish(images).contiguous())  # type: ignore[attr-defined]
            for name in TASKS
            for images in sets[name].images.split(datamodule.eval_batch_size)  # type: ignore[attr-defined]
        ]

        def ours() -> float:
            callback = new_sweep(trainer, module)
            with Stopwatch() as watch:
                callback.sweep(trainer, module, loggable=False)
            return watch.seconds

        def limit() -> float:
            with Stopwatch() as watch:
                forward_only(module, batches, len(ALPHAS))
            module.train()
            return watch.seconds

        ours()  # warm-up of both paths
        limit()
        times = interleave({"ours": ours, "limit": limit}, reps, "sweep_vs_limit")
    ours_s, limit_s = median(times["ours"]), median(times["limit"])
    ratio = paired_ratio(times["ours"], times["limit"])
    images = sum(len(sets[name]) for name in TASKS)
    return Result(
        "sweep_vs_limit",
        ratio,
        "<=",
        TARGET,
        details={
            "setup": f"{images} held-out images at {SWEEP_TOWER['image_size']} px in memory, "
            f"tower {tower_params(module) / 1e6:.2f}M params, 11 alphas, batch 128",
            "ours, later sweep (median s)": f"{ours_s:.3f}  {[round(t, 3) for t in times['ours']]}",
            "limit, 11 forward passes (median s)": f"{limit_s:.3f}  {[round(t, 3) for t in times['limit']]}",
            "ours / limit": f"{ratio:.3f} (median of per-repetition ratios; ratio of medians {ours_s / limit_s:.3f})",
            "sweep throughput": f"{images * len(ALPHAS) / ours_s:.0f} image-alphas/s",
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10)
    result = run(parser.parse_args().reps)
    print(result.report())
    sys.exit(0 if result.status != "MISS" else 1)
