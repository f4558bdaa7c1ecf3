"""Selection efficiency of finished per-block runs against a test oracle (docs/fine-grained.md, issue 21).

For each run directory (``lightning_logs/version_N`` of ``paint fit`` with ``sweep.per_block``), the
*chosen* mixes are the product's own, read from the run's ``paint_report.json``: alpha* (the global
sweep) and ``selected_mix`` (the per-block mix if the run's acceptance rule took it, else alpha*),
with the test numbers the run itself printed. The *oracle* is chosen on the test sets, among the
same search space, as the best test patch accuracy whose test mean support drop stays within the
sweep's limit (``max_support_drop`` of the run's config):

* global: every alpha of the grid at the sweep's resolution, ``0, 0.05, ..., 1`` (every alpha the
  adaptive sweep can select);
* per-block: those alphas, the run's own per-block mix (``per_block.best_mix``), and every mix
  the same search (``sweep.per_block.search`` and ``budget`` of the run) measures when it is run
  on the test sets from the test sets' alpha* (``fine_grained_study.choose``, the study's
  ``--oracle``); with ``--full_lines`` also every depth schedule of the ``lines`` family (levels
  at the resolution, slopes the differences of two grid values, coefficients in ``[0, 1]``).

Efficiency = (chosen test digits - zero-shot) / (oracle test digits - zero-shot). Only the test sets
are classified (per-example correctness cached in ``<run>/fine_grained_efficiency_cache.pt``); the
mixes' test numbers for alpha* and the run's per-block mix are checked against its report.

Run from the repository root (CPU, one thread):
``OMP_NUM_THREADS=1 python docs/fine_grained_efficiency.py RUN [RUN ...] --out efficiency.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fine_grained_study import SETTINGS, Predictions

from paint_lightning.engine import sweep_alphas
from paint_lightning.engine.per_block.block_search import BlockSearch, search_blocks
from paint_lightning.interpolation import Mix
from paint_lightning.interpolation.depth import depth_schedule, slopes


def alpha_grid(resolution: float) -> list[Mix]:
    """Every alpha of ``[0, 1]`` at ``resolution``."""
    steps = round(1 / resolution)
    return [Mix.of(round(i * resolution, 6)) for i in range(steps + 1)]


def lines_family(groups: list[str], resolution: float, values: list[float]) -> list[Mix]:
    """Every tilted depth schedule: level at ``resolution``, slope a difference of two ``values``, within [0, 1]."""
    out = []
    for level in alpha_grid(resolution):
        for slope in slopes(values):
            schedule = depth_schedule(groups, level.alpha, slope)
            if all(0.0 <= v <= 1.0 for v in schedule.values()) and slope != 0:
                out.append(Mix.of(schedule))
    return out


def best_within(rows: list[dict[str, Any]], limit: float) -> dict[str, Any]:
    """The row of highest ``patch`` whose ``drop`` is within ``limit`` (ties: the smaller drop, then the first).

    Raises:
        SystemExit: No row is within the limit.
    """
    feasible = [r for r in rows if r["drop"] <= limit + 1e-9]
    if not feasible:
        raise SystemExit(f"no mix within a support drop of {limit}")
    return max(feasible, key=lambda r: (r["patch"], -r["drop"]))


def efficiency(chosen: float, oracle: float, zero_shot: float) -> float:
    """The chosen mix's test gain over zero-shot as a share of the oracle's."""
    return (chosen - zero_shot) / (oracle - zero_shot)


def report_numbers(tasks: dict[str, dict[str, Any]], column: str) -> dict[str, float]:
    """Mean patch accuracy, its zero-shot and the mean support drop of one column of a test report."""
    of = lambda role, key: statistics.fmean(t[key] for t in tasks.values() if t["role"] == role)  # noqa: E731
    return {
        "patch": of("patch", column),
        "zero_shot": of("patch", "zero_shot"),
        "drop": of("support", "zero_shot") - of("support", column),
    }


def test_only(pred: Predictions, cache: Path) -> Predictions:
    """``pred`` restricted to its test sets (a pass reads only them), with its own cache file."""
    heldout = sum(len(pred.index[("heldout", task)]) for task in pred.roles)
    position, batches = 0, []
    for task, images, labels in pred.batches:  # the held-out sets first, then the test sets
        if position >= heldout:
            batches.append((task, images, labels))
        position += len(labels)
    offset = -heldout
    pred.index = {key: index + offset for key, index in pred.index.items() if key[0] == "test"}
    pred.batches, pred.path = batches, cache
    pred.cache = torch.load(cache) if cache.exists() else {}
    return pred


def test_search(pred: Predictions, block: BlockSearch) -> list[Mix]:
    """Every mix ``block`` measures when it runs on the test sets, from their alpha* (a ceiling)."""
    measure = pred.measure(pred.split("test"))
    record, table = sweep_alphas(measure, pred.roles, SETTINGS)
    result = search_blocks(measure, pred.roles, SETTINGS, block, pred.groups, record["selected_alpha"], table)
    return [Mix.of(dict(t["mix"])) for t in result["trace"]]


def run_efficiency(run: Path, full_lines: bool) -> dict[str, Any]:
    """The run's chosen mixes (from its report), the test oracles and the efficiencies."""
    report = json.loads((run / "paint_report.json").read_text())
    config = yaml.safe_load((run / "config.yaml").read_text())
    limit = config["sweep"]["max_support_drop"]
    per_block, test = report["per_block"], report["test"]
    pred = test_only(Predictions.from_run(run), run / "fine_grained_efficiency_cache.pt")
    measure = pred.measure(pred.split("test"))
    patch = [t for t, r in pred.roles.items() if r == "patch"]
    support = [t for t, r in pred.roles.items() if r == "support"]

    def rows(mixes: list[Mix]) -> list[dict[str, Any]]:
        mixes = list(dict.fromkeys([Mix.of(0.0), *mixes]))
        counts = measure(mixes)
        zs = counts.column(Mix.of(0.0))
        out = []
        for mix in mixes:
            acc = counts.column(mix)
            drop = statistics.fmean(zs.accuracy(t) - acc.accuracy(t) for t in support)
            out.append({"mix": mix.to_json(), "patch": statistics.fmean(acc.accuracy(t) for t in patch), "drop": drop})
        return out

    block = BlockSearch(search=per_block["search"], budget=per_block["budget"], accept="gain")
    grid = alpha_grid(SETTINGS.resolution)
    own = [Mix.from_json(per_block["best_mix"])]
    family = lines_family(pred.groups, SETTINGS.resolution, list(block.values)) if full_lines else []
    block_rows = rows([*grid, *own, *test_search(pred, block), *family])
    global_oracle, block_oracle = best_within(rows(grid), limit), best_within(block_rows, limit)
    pb = test["per_block"]
    chosen_global = report_numbers(test["tasks"], "patched")
    chosen_block = report_numbers(pb["tasks"], "per_block" if pb["won"] else "global")
    zero = chosen_global["zero_shot"]
    here = [rows([Mix.of(report["selected_alpha"])])[-1], rows([Mix.from_json(pb["per_block_mix"])])[-1]]
    printed = [chosen_global, report_numbers(pb["tasks"], "per_block")]
    agree = all(abs(a[k] - b[k]) < 1e-6 for a, b in zip(here, printed, strict=True) for k in ("patch", "drop"))
    return {
        "seed": config.get("seed_everything"),
        "limit": limit,
        "zero_shot": zero,
        "agrees_with_report": agree,  # alpha*'s and the per-block mix's test numbers, classified here
        "candidates": {"global": len(grid), "per_block": len(block_rows) - 1, "full_lines": full_lines},
        "global": {
            "chosen": report["selected_alpha"],
            "test": chosen_global,
            "oracle": global_oracle,
            "efficiency": efficiency(chosen_global["patch"], global_oracle["patch"], zero),
        },
        "per_block": {
            "chosen": pb["selected_mix"],
            "won": pb["won"],
            "rule": pb["accept"],
            "best_mix": pb["per_block_mix"],
            "test": chosen_block,
            "oracle": block_oracle,
            "efficiency": efficiency(chosen_block["patch"], block_oracle["patch"], zero),
        },
    }


def describe(mix: Any) -> str:
    """A mix in a table cell: the alpha, or a depth schedule's first and last values."""
    if isinstance(mix, (int, float)):
        return f"{mix:g}"
    values = [v for _, v in sorted(mix[0].items(), key=lambda kv: _depth(kv[0]))]
    return f"{values[0]:g}..{values[-1]:g}" if len(set(values)) > 1 else f"{values[0]:g}"


def _depth(group: str) -> int:
    return -1 if group == "embed" else 10**6 if group == "head" else int(group.split(".")[-1])


def table(label: str, results: list[dict[str, Any]]) -> list[str]:
    """Markdown rows: per seed and kind, the chosen mix and the oracle, test gain and drop, efficiency."""
    lines = []
    for kind in ("global", "per_block"):
        effs = []
        for r in results:
            c, o = r[kind], r[kind]["oracle"]
            gain, oracle_gain = c["test"]["patch"] - r["zero_shot"], o["patch"] - r["zero_shot"]
            name = describe(c["chosen"]) + ("" if kind == "global" else " (won)" if c["won"] else " (alpha* kept)")
            lines.append(
                f"| {label} | {kind} | {r['seed']} | {name} | {gain:+.2f} | {c['test']['drop']:.2f} | "
                f"{describe(o['mix'])} | {oracle_gain:+.2f} | {o['drop']:.2f} | {c['efficiency']:.3f} |"
            )
            effs.append(c["efficiency"])
        worst = max(r[kind]["test"]["drop"] for r in results)
        limit = results[0]["limit"]
        mean = statistics.fmean(effs)
        within = "<=" if worst <= limit + 0.5 + 1e-9 else ">"
        verdict = f"mean {'>=' if mean >= 0.9 else '<'} 0.9; worst drop {worst:.2f} {within} {limit + 0.5:g}"
        lines.append(f"| {label} | {kind} | mean | | | | | | | **{mean:.3f}** ({verdict}) |")
    return lines


def main() -> None:
    """Scores each run and prints the table; writes every number as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories, or JSON files this script wrote")
    parser.add_argument("--label", default="defaults", help="the held-out setting, for the table")
    parser.add_argument("--full_lines", action="store_true", help="also every lines-family schedule (slow)")
    parser.add_argument("--out", type=Path, help="JSON file of the runs scored (needed unless all inputs are JSON)")
    args = parser.parse_args()
    if args.out is None and any(run.suffix != ".json" for run in args.runs):
        parser.error("--out is needed to score run directories")
    torch.set_num_threads(1)
    results, computed = [], {}
    for run in args.runs:
        if run.suffix == ".json":  # the table from earlier outputs, nothing classified
            results.extend(json.loads(run.read_text()).values())
            continue
        computed[str(run)] = run_efficiency(run, args.full_lines)
        results.append(computed[str(run)])
        args.out.write_text(json.dumps(computed, indent=1))
        print(f"{run}: done (agrees with its report: {computed[str(run)]['agrees_with_report']})", flush=True)
    print(
        "| held-out | kind | seed | chosen | test gain | test drop | oracle | oracle gain | oracle drop | efficiency |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(table(args.label, results)))


if __name__ == "__main__":
    main()
