"""(c) train_vs_bare: ``Trainer.fit`` of PaintModule + PaintDataModule vs a bare PyTorch loop.

Both sides train a copy of the same model (same weights) from the same data: preloaded image
tensors served by a ``PaintDataModule.train_dataloader()`` (batch 128, the product default) with
identity transforms, so the model, not data preparation, is the work being timed. Ours runs the
Trainer as ``paint fit`` sets it up (``gradient_clip_val=1.0``, TensorBoard logger, checkpointing,
``train/loss`` and ``train/acc`` logged every step) with only the printing parts off (progress
bar, model summary, sanity check). The bare loop is what the reference code does: image tower,
normalise, frozen zero-shot head, cross-entropy, AdamW, clipping at 1.0, a per-step LR schedule.

The two are interleaved step by step in one process (see ``paired.py``); Lightning's one-time
set-up and the first ``SKIP`` steps are excluded. The figure is the median, over step pairs, of
bare step time / Trainer step time (adjacent steps see the same load from other jobs).
Loader workers are off on both sides (``num_workers=0``): with steps interleaved, a worker of one
loader would do its work in the other loop's step on a 2-core machine, and preloaded tensors give
workers nothing to hide.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from common import (
    TRAIN_TOWER,
    Result,
    TensorImageSource,
    build_module,
    configure,
    identity,
    median,
    tower_params,
)
from paired import paired_fit

from paint_lightning import PaintDataModule, PaintModule, Task

TARGET = 0.95
BATCH = 128
SKIP = 3  # step pairs not timed: first allocations, Lightning's first-step work
TIMED = 24
STEPS = SKIP + TIMED
WARMUP = 5


def make_datamodule(module: PaintModule) -> PaintDataModule:
    """One patch task of preloaded tensors, enough for ``STEPS + 1`` batches after the held-out split."""
    size = TRAIN_TOWER["image_size"]
    source = TensorImageSource(num_classes=10, num_train=int(BATCH * (STEPS + 2) / 0.9), num_test=8, image_size=size)
    datamodule = PaintDataModule(patch=[Task("patch", source)], batch_size=BATCH, num_workers=0)
    datamodule.set_transforms(identity, identity)
    return datamodule


def run(reps: int = 2) -> Result:
    """``reps`` fits, each with a bare loop interleaved; compares median step times."""
    configure()
    template = build_module(TRAIN_TOWER, warmup_steps=WARMUP)
    template.set_tasks(make_datamodule(template).task_specs())
    ours: list[float] = []
    theirs: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(reps):
            timer = paired_fit(template, Path(tmp), make_datamodule, STEPS, SKIP)
            ours += timer.ours
            theirs += timer.theirs[: len(timer.ours)]
            print(
                f"  train_vs_bare: fit {rep + 1}/{reps}: median step bare {median(timer.theirs):.3f} s, "
                f"Trainer.fit {median(timer.ours):.3f} s",
                flush=True,
            )
    # Each Trainer step against the bare step just before it: both saw the same load.
    ratio = median([bare / step for bare, step in zip(theirs, ours, strict=True)])
    return Result(
        "train_vs_bare",
        ratio,
        ">=",
        TARGET,
        details={
            "setup": f"tower {tower_params(template) / 1e6:.2f}M params at {TRAIN_TOWER['image_size']} px, "
            f"batch {BATCH}, {reps} fits x {TIMED} timed step pairs (after {SKIP}), preloaded tensors",
            "bare step (median s)": f"{median(theirs):.3f}  (IQR {_iqr(theirs)})",
            "Trainer.fit step (median s)": f"{median(ours):.3f}  (IQR {_iqr(ours)})",
            "throughput bare / ours": f"{BATCH / median(theirs):.0f} / {BATCH / median(ours):.0f} images/s",
            "ours / bare throughput": f"{ratio:.3f} (median over step pairs of bare time / Trainer time)",
        },
    )


def _iqr(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4)
    return f"{q[0]:.3f}-{q[2]:.3f}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    result = run(parser.parse_args().reps)
    print(result.report())
    sys.exit(0 if result.status != "MISS" else 1)
