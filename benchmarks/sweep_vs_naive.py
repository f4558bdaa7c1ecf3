"""(a) sweep_vs_naive: our one-pass alpha sweep vs the reference code's per-alpha reload.

Data: two tasks (patch + support) as on-disk image folders of photo-like JPEGs (quality 90, sides
160-256 px, about 12 KB each: the size of RESISC45 / GTSRB / thumbnail-sized photos), read by
``ImageFolderSource`` and resized by the model's eval transform. 320 held-out images per task.

Naive (what mlfoundations/patching does): for each of 11 alphas, interpolate the state dict,
build a fresh model and load it, rebuild every dataset and DataLoader, decode every image again.

Ours: ``InterpolationSweep.sweep`` (the callback's own method) on a Trainer attached to the same
module and a ``PaintDataModule`` over the same folders. The *first* sweep decodes the held-out
sets once (into the DataModule's memory cache) then evaluates 11 alphas; a *later* sweep finds
them decoded. A fresh callback is used every time, so every sweep evaluates all 11 alphas.
The target is checked on the first sweep.
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
    WORLD_TOWER,
    Result,
    Stopwatch,
    attach,
    build_module,
    clip_config,
    configure,
    folder_bytes,
    interleave,
    median,
    new_sweep,
    simulate_finetuning,
    tower_params,
    write_image_folder,
)
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader, Subset

from paint_lightning import CLIPSource, ImageFolderSource, PaintDataModule, PaintModule, Task

TARGET = 4.0
NUM_CLASSES = 4
TRAIN_PER_CLASS = 100  # 400 images per task, 320 of them held out (heldout_fraction 0.8)
HELDOUT_FRACTION = 0.8
TASKS = ("patch", "support")
TOWERS = {"sweep": SWEEP_TOWER, "world": WORLD_TOWER}


def make_datamodule(root: Path) -> PaintDataModule:
    """Product defaults (batch 128, 2 workers, 1 GiB eval cache) over the two folders."""
    tasks = [Task(name, ImageFolderSource(str(root / name))) for name in TASKS]
    return PaintDataModule(patch=tasks[:1], support=tasks[1:], heldout_fraction=HELDOUT_FRACTION)


@torch.no_grad()
def naive_sweep(
    module: PaintModule, tower: dict[str, int], root: Path, heldout: dict[str, list[int]], heads: str
) -> torch.Tensor:
    """The reference code's sweep: per alpha, a fresh model and fresh loaders; returns correct counts."""
    correct = torch.zeros(len(TASKS), len(ALPHAS), dtype=torch.long)
    for j, alpha in enumerate(ALPHAS):
        probe = PaintModule(CLIPSource(config=clip_config(tower)), head_cache_dir=heads)
        probe.clip.load_state_dict(module.patched_state_dict(alpha))
        probe.set_tasks(module.task_specs)  # zero-shot heads, from the cache
        probe.eval()
        for t, name in enumerate(TASKS):
            dataset = ImageFolderSource(str(root / name)).dataset("train", probe.preprocess_eval)
            loader = DataLoader(Subset(dataset, heldout[name]), batch_size=128, num_workers=2)
            for images, labels in loader:
                correct[t, j] += (probe(images, name).argmax(dim=-1) == labels).sum()
    return correct


def run(reps: int = 3, tower_name: str = "sweep") -> Result:
    """Times naive, our first sweep and a later sweep, interleaved; checks they agree."""
    configure()
    tower = TOWERS[tower_name]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for seed, name in enumerate(TASKS):
            write_image_folder(root / name, NUM_CLASSES, {"train": TRAIN_PER_CLASS, "test": 2}, seed=seed)
        heads = str(root / "heads")
        module = build_module(tower, head_cache_dir=heads)
        simulate_finetuning(module)
        warm = make_datamodule(root)
        warm_trainer = attach(module, warm, root / "warm")
        new_sweep(warm_trainer, module).sweep(warm_trainer, module, False)
        heldout = {name: list(warm.heldout_sets[name].indices) for name in TASKS}
        records: list[dict] = []

        def ours(trainer: Trainer) -> float:
            callback = new_sweep(trainer, module)
            with Stopwatch() as watch:
                records.append(callback.sweep(trainer, module, loggable=False))
            return watch.seconds

        def first() -> float:
            return ours(attach(module, make_datamodule(root), root / "first"))  # set-up not timed

        naive_counts: list[torch.Tensor] = []

        def naive() -> float:
            with Stopwatch() as watch:
                naive_counts.append(naive_sweep(module, tower, root, heldout, heads))
            return watch.seconds

        times = interleave(
            {"naive": naive, "ours_first": first, "ours_later": lambda: ours(warm_trainer)}, reps, "sweep_vs_naive"
        )
        _check_same(records[-1], naive_counts[-1], heldout)
        num_images = sum(len(v) for v in heldout.values())
        image_bytes = folder_bytes(root / "patch") / (NUM_CLASSES * (TRAIN_PER_CLASS + 2))
        params = tower_params(module)
    naive_s, first_s, later_s = (median(times[k]) for k in ("naive", "ours_first", "ours_later"))
    return Result(
        "sweep_vs_naive",
        naive_s / first_s,
        ">=",
        TARGET,
        details={
            "setup": f"{num_images} held-out JPEGs (~{image_bytes / 1024:.0f} KB, 160-256 px) -> "
            f"{tower['image_size']} px, {tower_name} tower {params / 1e6:.2f}M params, 11 alphas, batch 128, 2 workers",
            "naive (median s)": f"{naive_s:.2f}  {_fmt(times['naive'])}",
            "ours first sweep (median s)": f"{first_s:.2f}  {_fmt(times['ours_first'])}",
            "ours later sweep (median s)": f"{later_s:.2f}  {_fmt(times['ours_later'])}",
            "speed-up first sweep (target)": f"{naive_s / first_s:.1f}x",
            "speed-up later sweep": f"{naive_s / later_s:.1f}x",
            "results": "naive and ours give identical held-out accuracies at all 11 alphas",
        },
    )


def _check_same(record: dict, naive: torch.Tensor, heldout: dict[str, list[int]]) -> None:
    for t, name in enumerate(TASKS):
        ours = record["tasks"][name]["accuracy"]
        theirs = [100.0 * int(c) / len(heldout[name]) for c in naive[t]]
        if ours != theirs:
            raise AssertionError(f"{name}: sweep accuracies {ours} != naive {theirs}")


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--tower", choices=sorted(TOWERS), default="sweep")
    args = parser.parse_args()
    result = run(args.reps, args.tower)
    print(result.report())
    sys.exit(0 if result.status != "MISS" else 1)
