"""Parallel patching in the offline world: plain parallel patching vs data-free merges (docs/fine-grained.md).

Two runs fine-tuned from the same zero-shot world CLIP on different patch tasks (handwritten
digits: ``paint fit --config configs/quickstart.yaml``; positions of a small shape:
``paint fit --config configs/multitask/positions.yaml``, ``paint_lightning.world.WorldPositions``)
are combined five ways, each with its coefficients chosen on the held-out sets under the
quickstart's criterion (mean patch accuracy of both tasks, support tasks on average within 1.5
points of zero-shot) and then scored on the test sets:

* plain parallel patching (PAINT): ``theta_0 + a_1 tau_1 + a_2 tau_2``, ``(a_1, a_2)`` on a grid;
* ``task_arithmetic``, ``ties``, ``iso_c``, ``tsv`` (:mod:`paint_lightning.interpolation.merges`):
  one merged end point, its coefficient swept like PAINT's alpha.

Run from the repository root with both runs' directories, digits first:
``OMP_NUM_THREADS=1 python docs/fine_grained_merges.py RUN_DIGITS RUN_POSITIONS --out merges.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from fine_grained_study import SETTINGS, Predictions, build  # noqa: E402

from paint_lightning.engine import sweep_alphas  # noqa: E402
from paint_lightning.engine.per_block.tradeoff import mix_objective  # noqa: E402
from paint_lightning.interpolation import Mix  # noqa: E402
from paint_lightning.interpolation.merges import merge_end_point  # noqa: E402

SUPPORT = [
    {
        "name": "shapes",
        "source": {
            "class_path": "paint_lightning.world.WorldShapes",
            "init_args": {"train_size": 10000, "size": "big"},
        },
    },
    {
        "name": "colours",
        "source": {"class_path": "paint_lightning.world.WorldColours", "init_args": {"train_size": 10000}},
    },
    {
        "name": "counts",
        "source": {"class_path": "paint_lightning.world.WorldCounts", "init_args": {"train_size": 10000}},
    },
]
CONFIG: dict[str, Any] = {
    "seed_everything": 0,
    "trainer": {"accelerator": "cpu", "devices": 1, "logger": False, "enable_progress_bar": False},
    "model": {"clip": {"pretrained": "paint_lightning/world/assets/world_clip.safetensors"}},
    "data": {
        "patch": [
            {
                "name": "digits",
                "source": {"class_path": "paint_lightning.world.HandwrittenDigits", "init_args": {"glyph_size": 30}},
            },
            {
                "name": "positions",
                "source": {"class_path": "paint_lightning.world.WorldPositions", "init_args": {"train_size": 1500}},
            },
        ],
        "support": SUPPORT,
        "batch_size": 64,
        "eval_batch_size": 500,
        "num_workers": 0,
    },
}
GRID = [round(0.1 * i, 1) for i in range(7)]  # plain parallel patching: a_1, a_2 in 0.0 ... 0.6
MERGES = {"task_arithmetic": {}, "ties": {"density": 0.2}, "iso_c": {}, "tsv": {}}


def towers(run: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(start, fine-tuned) image towers of a run's last checkpoint, named as inside the tower."""
    state = torch.load(sorted((run / "checkpoints").glob("*.ckpt"))[-1], map_location="cpu", weights_only=True)
    weights = state["state_dict"]
    start = {k[len("start_point.tower.") :]: v for k, v in weights.items() if k.startswith("start_point.tower.")}
    tuned = {k[len("clip.visual.") :]: v for k, v in weights.items() if k.startswith("clip.visual.")}
    return start, tuned


def scores(pred: Predictions, split: str, mix: Mix, own: dict[str, float], zero: dict[str, float]) -> dict[str, Any]:
    """Per-task accuracy, each patch task's share of its own fine-tuning gain, and the support drop."""
    counts = pred.measure(pred.split(split))([Mix.of(*([0.0] * mix.num_ends)), mix])
    zs, mixed = counts.column(counts.candidates[0]), counts.column(mix)
    out: dict[str, Any] = {name: mixed.accuracy(name) for name in pred.roles}
    patch = [n for n, r in pred.roles.items() if r == "patch"]
    support = [n for n, r in pred.roles.items() if r == "support"]
    out["gain_kept"] = {n: 100 * (mixed.accuracy(n) - zero[n]) / (own[n] - zero[n]) for n in patch}
    out["mean_patch"] = sum(mixed.accuracy(n) for n in patch) / len(patch)
    out["support_drop"] = sum(zs.accuracy(n) - mixed.accuracy(n) for n in support) / len(support)
    return out


def main() -> None:
    """Chooses each method's coefficients on held-out data and scores them on test data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs=2, type=Path, help="the digits run, then the positions run")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, data = build(CONFIG)
    (start, digits), (start_b, positions) = towers(args.runs[0]), towers(args.runs[1])
    if any(not torch.equal(start[k], start_b[k]) for k in start):
        raise SystemExit("the two runs start from different zero-shot towers: parallel patching needs one start")
    model.start_point.tower.load_state_dict(start)
    model.clip.visual.load_state_dict(start)
    base = Predictions(model, data, args.out.with_suffix(".cache.pt"))
    parallel = base.with_ends([digits, positions], "parallel:")
    results: dict[str, Any] = {}
    for split in ("heldout", "test"):
        own = parallel.measure(parallel.split(split))([Mix.of(1.0, 0.0), Mix.of(0.0, 1.0), Mix.of(0.0, 0.0)])
        results[f"reference_{split}"] = {
            "fine_tuned": {
                "digits": own.column(Mix.of(1.0, 0.0)).accuracy("digits"),
                "positions": own.column(Mix.of(0.0, 1.0)).accuracy("positions"),
            },
            "zero_shot": {n: own.column(Mix.of(0.0, 0.0)).accuracy(n) for n in base.roles},
        }
    chosen: dict[str, tuple[Predictions, Mix]] = {}
    grid = [Mix.of(a, b) for a in GRID for b in GRID]
    counts = parallel.measure(parallel.split("heldout"))(grid)
    zero_shot = counts.column(Mix.of(0.0, 0.0))
    values = mix_objective([counts.column(m) for m in grid], zero_shot, base.roles, SETTINGS)
    best = max(range(len(grid)), key=lambda i: (values[i], -sum(grid[i].terms)))  # type: ignore[arg-type]
    chosen["parallel"] = (parallel, grid[best])
    for method, options in MERGES.items():
        merged = base.with_ends([merge_end_point(method, start, [digits, positions], **options)], f"{method}:")
        record, _ = sweep_alphas(merged.measure(merged.split("heldout")), base.roles, SETTINGS)
        chosen[method] = (merged, Mix.of(record["selected_alpha"]))
        print(f"{method}: lambda* = {record['selected_alpha']}", flush=True)
    for name, (pred, mix) in chosen.items():
        results[name] = {"mix": mix.to_json()}
        for split in ("heldout", "test"):
            ref = results[f"reference_{split}"]
            results[name][split] = scores(pred, split, mix, ref["fine_tuned"], ref["zero_shot"])
        args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps({k: v for k, v in results.items() if not k.startswith("reference")}, indent=1))


if __name__ == "__main__":
    main()
