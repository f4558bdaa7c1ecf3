"""How many held-out digits the per-block search needs, from cached predictions only (docs/fine-grained.md).

Reads the per-example correctness that ``docs/fine_grained_study.py --analysis searches`` cached in
``<run>/fine_grained_cache.pt`` (every mix it measured, on every held-out and test example of the
quickstart: digits, shapes, colours, counts). No model is loaded and no image is classified, so it
runs in seconds, at a price: a selection can only be scored on mixes already in the cache.

1. ``paired``: for alpha* and the ``lines`` mix that the run's own held-out set chose, the paired
   difference in digit accuracy on the 400 test digits, its standard error per image, and the
   number of selection images at which that difference would be two standard errors; and the
   standard error of the mean support drop (paired with zero-shot) on the held-out and test sets.
2. ``global_path``: gain kept and support drop of every cached global alpha, held-out and test;
   ``global_at_same_test_drop``: the global path's test gain kept at each choice's test support
   drop (linear between cached alphas), to compare choices that spend different support.
3. ``resplit``: the 400 test digits are re-split ``--repeats`` times into an evaluation half (200)
   and a selection set of ``--sizes`` digits from the other half; support tasks keep their
   held-out (selection) and test (evaluation) sets. The product's own global sweep and ``lines``
   search choose on each selection set; the choices are scored on the evaluation set. The
   candidates are the mixes that the product's searches (``lines:40``, ``coordinate:60``) visited
   on the run's *own* held-out set, so they were found without the test digits (test-chosen oracle
   mixes in the cache are left out); a mix outside them reads as unmeasured (zero correct, so never
   chosen) and is counted in ``misses``: the search is the product's, confined to those mixes.

It also prints each run's choices (global, ``lines:40``, ``coordinate:60``, re-chosen on the run's
held-out set) scored on held-out and test data, and their means over the runs. Run from the
repository root (CPU, one thread, seconds), after the ``searches`` analysis on each run:
``OMP_NUM_THREADS=1 python docs/fine_grained_heldout.py runs/seed{0,1,2}/lightning_logs/version_0
--out heldout.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from paint_lightning.engine import Counts, SweepSettings, sweep_alphas  # noqa: E402
from paint_lightning.engine.per_block.block_search import BlockSearch, search_blocks  # noqa: E402
from paint_lightning.interpolation import Mix  # noqa: E402

# The quickstart's sweep (configs/quickstart.yaml), as in fine_grained_study.SETTINGS.
SETTINGS = SweepSettings(search="adaptive", resolution=0.05, criterion="constrained_mean", max_support_drop=1.5)
ROLES = {"digits": "patch", "shapes": "support", "colours": "support", "counts": "support"}
GROUPS = ["embed", "block.0", "block.1", "block.2", "block.3", "head"]
# Run on every seed by the study, under the rule of its time (accept: gain; see docs/fine-grained.md).
HELDOUT_SEARCHES = [BlockSearch("lines", 40, accept="gain"), BlockSearch("coordinate", 60, accept="gain")]


def key(mix: Mix) -> str:
    """The cache key of a mix (as fine_grained_study.py writes it)."""
    return json.dumps(mix.to_json(), sort_keys=True)


class Cached:
    """Per-example correctness of the mixes in a run's cache; examples laid out as the study script does."""

    def __init__(self, run: Path) -> None:
        self.cache: dict[str, torch.Tensor] = torch.load(run / "fine_grained_cache.pt")
        report = json.loads((run / "paint_report.json").read_text())
        held = {t: report["tasks"][t]["num_examples"] for t in ROLES}
        test = {t: report["test"]["tasks"][t]["num_examples"] for t in ROLES}
        self.index: dict[tuple[str, str], torch.Tensor] = {}
        offset = 0
        for split, sizes in (("heldout", held), ("test", test)):
            for task in ROLES:
                self.index[(split, task)] = torch.arange(offset, offset + sizes[task])
                offset += sizes[task]
        length = {len(v) for v in self.cache.values()}
        if length != {offset}:
            raise SystemExit(f"{run}: cache rows {length} != {offset} examples from paint_report.json")
        self.allowed: set[str] | None = None
        self.misses = 0
        self.requests = 0

    def split(self, name: str) -> dict[str, torch.Tensor]:
        """Task -> example indices of ``heldout`` or ``test``."""
        return {task: self.index[(name, task)] for task in ROLES}

    def measure(self, selection: dict[str, torch.Tensor]):
        """``measure(mixes) -> Counts`` on ``selection``; mixes outside the candidates count zero correct."""

        def measure(mixes: list[Mix]) -> Counts:
            counts = Counts.zeros(list(ROLES), mixes)
            for j, mix in enumerate(mixes):
                self.requests += 1
                k = key(mix)
                if k not in self.cache or (self.allowed is not None and k not in self.allowed):
                    self.misses += 1
                    continue
                for i, task in enumerate(ROLES):
                    counts.correct[i, j] = int(self.cache[k][selection[task]].sum())
            counts.total[:] = torch.tensor([len(selection[t]) for t in ROLES])
            return counts

        return measure

    def accuracy(self, mix_json: Any, task: str, rows: torch.Tensor) -> float:
        """Accuracy (%) of a cached mix on the given example rows."""
        return 100.0 * float(self.cache[key(Mix.from_json(mix_json))][rows].float().mean())


def choose(data: Cached, selection: dict[str, torch.Tensor], searches: list[BlockSearch]) -> dict[str, Any]:
    """alpha* and each search's selected mix on ``selection`` (the product's code)."""
    measure = data.measure(selection)
    record, table = sweep_alphas(measure, ROLES, SETTINGS)
    alpha = record["selected_alpha"]
    out: dict[str, Any] = {"global": alpha}
    for block in searches:
        result = search_blocks(measure, ROLES, SETTINGS, block, GROUPS, alpha, table)
        out[f"{block.search}/{block.budget}"] = result["selected_mix"]
    return out


def scores(data: Cached, selection: dict[str, torch.Tensor], mix_json: Any) -> dict[str, float]:
    """Gain kept (%), its binomial standard error (digits only) and mean support drop (points) on ``selection``."""
    ends = {"zs": 0.0, "ft": 1.0, "mix": mix_json}
    acc = {name: {t: data.accuracy(m, t, selection[t]) for t in ROLES} for name, m in ends.items()}
    support = [t for t, r in ROLES.items() if r == "support"]
    gain = 100 * (acc["mix"]["digits"] - acc["zs"]["digits"]) / (acc["ft"]["digits"] - acc["zs"]["digits"])
    drop = sum(acc["zs"][t] - acc["mix"][t] for t in support) / len(support)
    p, n = acc["mix"]["digits"] / 100, len(selection["digits"])
    gain_se = 100 * 100 * math.sqrt(p * (1 - p) / n) / (acc["ft"]["digits"] - acc["zs"]["digits"])
    return {"gain_kept": gain, "support_drop": drop, "gain_kept_stderr": gain_se}


def paired(data: Cached, choices: dict[str, Any]) -> dict[str, Any]:
    """Paired test-digit difference between the lines mix and alpha*, and the images for 2 standard errors."""
    rows = data.index[("test", "digits")]
    a = data.cache[key(Mix.from_json(choices["global"]))][rows].float()
    b = data.cache[key(Mix.from_json(choices["lines/40"]))][rows].float()
    d = b - a
    mean, sd = 100 * float(d.mean()), 100 * float(d.std())
    drop_se = {}
    for split in ("heldout", "test"):
        zero = data.cache[key(Mix.of(0.0))]
        for name in ("global", "lines/40"):
            mix = data.cache[key(Mix.from_json(choices[name]))]
            var = 0.0
            for task in ("shapes", "colours", "counts"):
                rows_t = data.index[(split, task)]
                diff = 100 * (zero[rows_t].float() - mix[rows_t].float())
                var += float(diff.var()) / len(rows_t)
            drop_se[f"{split}/{name}"] = math.sqrt(var) / 3
    return {
        "support_drop_stderr": drop_se,
        "test_digit_gain_points": mean,
        "discordant_share": float((d != 0).float().mean()),
        "sd_per_image_points": sd,
        "stderr_at_140": sd / math.sqrt(140),
        "images_for_2_stderr": math.ceil((2 * sd / mean) ** 2) if mean > 0 else None,
    }


def global_path(data: Cached) -> list[dict[str, float]]:
    """Gain kept and support drop of every cached global alpha, on the held-out and test sets."""
    alphas = sorted(float(k) for k in data.cache if not k.startswith("["))
    return [
        {"alpha": a}
        | {
            f"{split}_{name}": v
            for split in ("heldout", "test")
            for name, v in scores(data, data.split(split), a).items()
        }
        for a in alphas
    ]


def along_path(path: list[dict[str, float]], drop: float) -> float | None:
    """Test gain kept of the global path at a given test support drop (linear between cached alphas)."""
    points = sorted((p["test_support_drop"], p["test_gain_kept"]) for p in path)
    for (d0, g0), (d1, g1) in itertools.pairwise(points):
        if d0 <= drop <= d1 and d1 > d0:
            return g0 + (g1 - g0) * (drop - d0) / (d1 - d0)
    return None


def resplit(data: Cached, sizes: list[int], repeats: int) -> dict[str, Any]:
    """Scores of the global and lines choices on a fixed evaluation half, by selection size."""
    pool = data.index[("test", "digits")]
    half = len(pool) // 2
    out: dict[str, Any] = {}
    for size in sizes:
        if size > len(pool) - half:
            raise SystemExit(f"--sizes {size}: at most {len(pool) - half} selection digits")
        rows, misses, requests = [], data.misses, data.requests
        for repeat in range(repeats):
            order = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(repeat))]
            evaluation = {**data.split("test"), "digits": order[:half]}
            selection = {**data.split("heldout"), "digits": order[half : half + size]}
            choices = choose(data, selection, [BlockSearch("lines", 40, accept="gain")])
            rows.append({name: {**scores(data, evaluation, mix), "mix": mix} for name, mix in choices.items()})
        out[str(size)] = {"rows": rows, "misses": data.misses - misses, "requests": data.requests - requests}
    return out


def summary(resplits: dict[str, dict[str, Any]]) -> list[str]:
    """One line per selection size, pooled over runs and repeats."""
    lines = ["size  draws  global gain  lines gain  diff (se)     lines>global  lines drop>2  global drop>2  misses"]
    groups = {"all runs": list(resplits.values())} | {run: [value] for run, value in resplits.items()}
    for title, runs in groups.items():
        lines.append(title)
        lines.extend(_summary_rows(runs))
    return lines


def _summary_rows(runs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for size in runs[0]:
        rows = [r for run in runs for r in run[size]["rows"]]
        misses = sum(run[size]["misses"] for run in runs) / sum(run[size]["requests"] for run in runs)
        g = [r["global"]["gain_kept"] for r in rows]
        li = [r["lines/40"]["gain_kept"] for r in rows]
        d = [b - a for a, b in zip(g, li, strict=True)]
        se = statistics.stdev(d) / math.sqrt(len(d))
        wins = sum(x > 0 for x in d) / len(d)
        over = sum(r["lines/40"]["support_drop"] > 2 for r in rows) / len(rows)
        over_g = sum(r["global"]["support_drop"] > 2 for r in rows) / len(rows)
        lines.append(
            f"{size:>4}  {len(rows):>5}  {statistics.mean(g):>11.1f}  {statistics.mean(li):>10.1f}  "
            f"{statistics.mean(d):>+5.1f} ({se:.1f})  {wins:>12.0%}  {over:>12.0%}  {over_g:>13.0%}  {misses:>6.0%}"
        )
    return lines


def seeds_table(results: dict[str, Any]) -> list[str]:
    """Held-out and test gain kept / support drop of each run's choices, and their means over runs."""
    names = list(next(iter(results.values()))["choices"])
    lines = ["choice          run  held-out gain  drop   test gain (se)  drop   global path at same test drop"]
    for name in names:
        rows = []
        for run, value in results.items():
            h, t = value["heldout"][name], value["test"][name]
            same = value["global_at_same_test_drop"][name]
            rows.append((h["gain_kept"], h["support_drop"], t["gain_kept"], t["support_drop"]))  # for the means
            lines.append(
                f"{name:<14} {Path(run).parts[-3]:>5}  {h['gain_kept']:>12.1f}  {h['support_drop']:>4.2f}  "
                f"{t['gain_kept']:>10.1f} ({t['gain_kept_stderr']:.1f})  {t['support_drop']:>4.2f}   "
                f"{'-' if same is None else f'{same:.1f}'}"
            )
        means = [statistics.mean(column) for column in zip(*rows, strict=True)]
        lines.append(
            f"{name:<14}  mean  {means[0]:>12.1f}  {means[1]:>4.2f}  {means[2]:>10.1f}        {means[3]:>4.2f}"
        )
    return lines


def main() -> None:
    """Runs both analyses on each run and writes JSON; prints the summaries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--sizes", nargs="+", type=int, default=[35, 70, 140, 200])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, Any] = {}
    for run in args.runs:
        data = Cached(run)
        # The run's own choices, and the mixes its held-out searches visit: the candidates of the re-split.
        visited: set[str] = set()
        record = data.measure(data.split("heldout"))

        def recorder(mixes: list[Mix], visited: set[str] = visited, record: Any = record) -> Counts:
            visited.update(key(m) for m in mixes)
            return record(mixes)

        _, table = sweep_alphas(recorder, ROLES, SETTINGS)
        choices = choose(data, data.split("heldout"), HELDOUT_SEARCHES)
        for block in HELDOUT_SEARCHES:
            search_blocks(recorder, ROLES, SETTINGS, block, GROUPS, choices["global"], dict(table))
        if data.misses:
            raise SystemExit(f"{run}: the held-out searches visit {data.misses} mixes missing from the cache")
        data.allowed = visited
        tests = {n: scores(data, data.split("test"), m) for n, m in choices.items()}
        results[str(run)] = {
            "choices": choices,
            "candidates": len(visited),
            "heldout": {n: scores(data, data.split("heldout"), m) for n, m in choices.items()},
            "test": tests,
            "paired": paired(data, choices),
            "global_path": global_path(data),
            "global_at_same_test_drop": {
                name: along_path(global_path(data), test["support_drop"]) for name, test in tests.items()
            },
            "resplit": resplit(data, args.sizes, args.repeats),
        }
        args.out.write_text(json.dumps(results, indent=1))
        print(f"{run}: {len(visited)} candidates; {json.dumps(results[str(run)]['paired'])}", flush=True)
    print("\n".join(seeds_table(results)))
    print("\n".join(summary({r: v["resplit"] for r, v in results.items()})))


if __name__ == "__main__":
    main()
