"""The paper's scale finding on the offline world: does a bigger world CLIP patch better (docs/scale-finding.md)?

Three world CLIPs pretrained by the same recipe on the same data (``configs/world/pretrain*.yaml``):
``base`` (the shipped one), ``deep`` (twice the layers of both towers) and ``wide`` (twice the width
of both towers). Each is patched by the quickstart (``configs/quickstart.yaml``: digits patched,
shapes/colours/counts watched, alpha chosen on held-out data within a 1.5-point mean support drop),
for seeds 0-2 (``--seed_everything s --data.split_seed s``: training order and held-out split).

Per run, from its ``paint_report.json`` (test sets): zero-shot, fine-tuned and patched digits, the
patched and fine-tuned models' mean support drop from zero-shot, the gap fine-tuned - patched, and
the fraction of the fine-tuning gain kept, ``(patched - zero-shot) / (fine-tuned - zero-shot)``.

Run from the repository root (missing checkpoints are pretrained first; finished runs are reused)::

    python docs/scale_finding.py run /tmp/scale_finding [--sizes base deep wide] [--seeds 0 1 2]
    python docs/scale_finding.py table /tmp/scale_finding
    python docs/scale_finding.py figure /tmp/scale_finding [--figure docs/img/scale_finding.png]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = "~/.cache/paint-lightning/world"


@dataclass(frozen=True)
class Size:
    """One world CLIP: where its checkpoint is and the recipe that pretrains it."""

    checkpoint: str
    recipe: str


SIZES = {
    "base": Size("paint_lightning/world/assets/world_clip.safetensors", "configs/world/pretrain.yaml"),
    "deep": Size(f"{CACHE}/world_clip_deep.safetensors", "configs/world/pretrain_deep.yaml"),
    "wide": Size(f"{CACHE}/world_clip_wide.safetensors", "configs/world/pretrain_wide.yaml"),
}
COLUMNS = (
    ("alpha", "alpha*", 2),
    ("zero_shot", "zero-shot digits", 2),
    ("fine_tuned", "fine-tuned digits", 2),
    ("patched", "patched digits", 2),
    ("gap", "gap fine-tuned - patched", 2),
    ("support_zero_shot", "support zero-shot", 2),
    ("support_drop", "support drop, patched", 2),
    ("support_drop_fine_tuned", "support drop, fine-tuned", 2),
    ("kept", "gain kept", 3),
    ("kept_heldout", "gain kept at the limit, held-out", 3),
)


def run_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The test-set figures of one ``paint fit`` run of the quickstart (one patch task, support tasks)."""
    tasks = report["test"]["tasks"]
    (patch,) = [t for t in tasks.values() if t["role"] == "patch"]
    support = [t for t in tasks.values() if t["role"] == "support"]
    if not support:
        raise SystemExit("the run has no support task: the scale finding needs the quickstart's support tasks")

    def mean(key: str) -> float:
        return statistics.fmean(t[key] for t in support)

    gain = patch["fine_tuned"] - patch["zero_shot"]
    return {
        "alpha": float(report["test"]["alpha"]),
        "zero_shot": patch["zero_shot"],
        "fine_tuned": patch["fine_tuned"],
        "patched": patch["patched"],
        "gap": patch["fine_tuned"] - patch["patched"],
        "support_zero_shot": mean("zero_shot"),
        "support_drop": mean("zero_shot") - mean("patched"),
        "support_drop_fine_tuned": mean("zero_shot") - mean("fine_tuned"),
        "kept": (patch["patched"] - patch["zero_shot"]) / gain if gain else math.nan,
        "kept_heldout": kept_at_limit(report, float(report["limits"]["support"]["limit"])),
    }


def kept_at_limit(report: dict[str, Any], limit: float) -> float:
    """Held-out gain kept where the held-out support drop first reaches ``limit``, between grid points.

    Along the run's swept alphas (ascending), the patch accuracy is interpolated linearly at the
    drop ``limit``; 1.0 if the fine-tuned end stays within it. The grid's resolution then no
    longer decides how much of the gain a size keeps.
    """
    points = sorted(zip(report["alphas"], report["patch_accuracy"], report["support_accuracy"], strict=True))
    zero, end = points[0], points[-1]
    gain = end[1] - zero[1]
    previous = zero
    for point in points[1:]:
        drop = zero[2] - point[2]
        if drop >= limit:
            before = zero[2] - previous[2]
            share = (limit - before) / (drop - before) if drop > before else 0.0
            patch = previous[1] + share * (point[1] - previous[1])
            return (patch - zero[1]) / gain if gain else math.nan
        previous = point
    return 1.0


def summarise(rows: list[dict[str, float]]) -> dict[str, tuple[float, float, float]]:
    """Mean, minimum and maximum over seeds of every figure of :func:`run_metrics`."""
    if not rows:
        raise SystemExit("no finished run to summarise")
    return {
        key: (statistics.fmean(r[key] for r in rows), min(r[key] for r in rows), max(r[key] for r in rows))
        for key in rows[0]
    }


def parameters(checkpoint: str | Path) -> dict[str, int]:
    """Parameters of the image tower (``visual.*``) and the text transformer (``transformer.*``) in a checkpoint."""
    from safetensors import safe_open

    counts = {"image": 0, "text": 0}
    with safe_open(str(checkpoint), "pt") as weights:
        for key in weights.keys():  # noqa: SIM118 (safe_open is not iterable)
            tower = {"visual": "image", "transformer": "text"}.get(key.split(".")[0])
            if tower:
                counts[tower] += math.prod(weights.get_slice(key).get_shape())
    return counts


def markdown(
    summaries: dict[str, dict[str, tuple[float, float, float]]],
    sizes: dict[str, dict[str, int]],
    seeds: dict[str, list[int]],
) -> str:
    """The table: one row per size, each figure as ``mean (min-max)`` over its seeds."""
    head = ["size", "image / text params", "seeds", *(label for _, label, _ in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, summary in summaries.items():
        cells = [
            name,
            f"{sizes[name]['image'] / 1e6:.2f}M / {sizes[name]['text'] / 1e6:.2f}M",
            ",".join(map(str, seeds[name])),
        ]
        for key, _, digits in COLUMNS:
            mean, low, high = summary[key]
            cells.append(f"{mean:.{digits}f} ({low:.{digits}f} to {high:.{digits}f})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curve(report: dict[str, Any], alphas: list[float]) -> list[tuple[float, float]]:
    """Held-out (patch, support mean) accuracy of a run at each of ``alphas`` (each must be in its sweep)."""
    where = {round(a, 6): i for i, a in enumerate(report["alphas"])}
    missing = [a for a in alphas if round(a, 6) not in where]
    if missing:
        raise SystemExit(f"the run's sweep has no alpha {missing}: the curves need a common grid")
    return [
        (report["patch_accuracy"][where[round(a, 6)]], report["support_accuracy"][where[round(a, 6)]]) for a in alphas
    ]


def figure(out: Path, path: Path) -> Path:
    """Plots each size's held-out support mean against digits over the 0.1 grid, mean over its seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas = [i / 10 for i in range(11)]
    runs = {size: finished_runs(out, size) for size in SIZES}
    if not any(runs.values()):
        raise SystemExit(f"no finished run under {out}")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for size, found in runs.items():
        if not found:
            continue
        curves = [curve(json.loads(p.read_text()), alphas) for p in found]
        patch = [statistics.fmean(c[i][0] for c in curves) for i in range(len(alphas))]
        support = [statistics.fmean(c[i][1] for c in curves) for i in range(len(alphas))]
        ax.plot(patch, support, marker="o", markersize=3, label=f"{size} ({len(found)} seeds)")
        ax.annotate("zero-shot", (patch[0], support[0]), fontsize=7)
    ax.set_xlabel("digits accuracy, held-out (%)")
    ax.set_ylabel("support tasks mean accuracy, held-out (%)")
    ax.set_title("Interpolating zero-shot to fine-tuned, alpha 0 to 1 by 0.1")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def report_path(out: Path, size: str, seed: int) -> Path:
    """Where the run of ``size`` and ``seed`` writes its report under ``out``."""
    return out / size / f"seed{seed}" / "lightning_logs/version_0/paint_report.json"


def finished(report: Path) -> bool:
    """Whether the run of ``report`` ended: it wrote its patched model and its final test numbers.

    A run writes ``paint_report.json`` after every live sweep, so the file alone does not say so.
    """
    if not (report.is_file() and (report.parent / "patched.safetensors").is_file()):
        return False
    return "test" in json.loads(report.read_text())


def finished_runs(out: Path, size: str) -> list[Path]:
    """The reports of the finished runs of ``size`` under ``out``."""
    return [p for p in sorted(out.glob(f"{size}/seed*/lightning_logs/version_0/paint_report.json")) if finished(p)]


def fit_command(out: Path, size: str, seed: int) -> list[str]:
    """The ``paint fit`` command of one run (the quickstart with this size's checkpoint and this seed)."""
    source = SIZES[size]
    return [
        sys.executable,
        "-m",
        "paint_lightning",
        "fit",
        "--config",
        "configs/quickstart.yaml",
        f"--model.clip.pretrained={source.checkpoint}",
        f"--model.clip.recipe={source.recipe}",
        f"--seed_everything={seed}",
        f"--data.split_seed={seed}",
        f"--trainer.default_root_dir={out / size / f'seed{seed}'}",
    ]


def run(out: Path, sizes: list[str], seeds: list[int]) -> None:
    """Fits every missing (size, seed) run under ``out``; prints each run's wall time."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for size in sizes:
        for seed in seeds:
            if finished(report_path(out, size, seed)):
                print(f"{size} seed {seed}: finished before, reused")
                continue
            if report_path(out, size, seed).parent.exists():
                raise SystemExit(
                    f"{size} seed {seed}: {report_path(out, size, seed).parent} holds an unfinished run; remove it"
                )
            began = time.perf_counter()
            done = subprocess.run(fit_command(out, size, seed), cwd=ROOT, env=env, check=False)
            if done.returncode:
                raise SystemExit(f"{size} seed {seed}: paint fit failed ({done.returncode})")
            print(f"{size} seed {seed}: {time.perf_counter() - began:.0f} s", flush=True)


def table(out: Path) -> str:
    """The markdown table of every finished run under ``out``, sizes in the order of :data:`SIZES`."""
    summaries, params, seeds = {}, {}, {}
    for size, source in SIZES.items():
        found = finished_runs(out, size)
        if not found:
            continue
        seeds[size] = sorted(int(p.parts[-4].removeprefix("seed")) for p in found)
        summaries[size] = summarise([run_metrics(json.loads(p.read_text())) for p in found])
        params[size] = parameters(ROOT / Path(source.checkpoint).expanduser())
    return markdown(summaries, params, seeds)


def main(argv: list[str] | None = None) -> None:
    """``run OUT`` fits the missing runs; ``table OUT`` prints the table of the finished ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("run", "table", "figure"))
    parser.add_argument("out", type=Path)
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--figure", type=Path, default=ROOT / "docs/img/scale_finding.png")
    args = parser.parse_args(argv)
    if args.action == "run":
        run(args.out, args.sizes, args.seeds)
    if args.action == "figure":
        print(f"wrote {figure(args.out, args.figure)}")
        return
    print(table(args.out))


if __name__ == "__main__":
    main()
