"""The measurements behind docs/fine-grained.md: per-block searches on finished runs, honestly.

For each run directory (``lightning_logs/version_N`` of ``paint fit``, with its ``config.yaml`` and
last checkpoint), the fine-tuned and zero-shot towers are loaded, and every mix the analyses ask
for is classified once on every held-out and test example (per-example correctness, cached in
``<run>/fine_grained_cache.pt``). Selections then run the product's own code
(:func:`~paint_lightning.engine.sweep_alphas`, :func:`~paint_lightning.engine.per_block.block_search.search_blocks`)
on counts taken from any subset of the examples, so held-out subsets and re-drawn splits cost no
new pass unless they visit a new mix.

The per-block searches run under ``accept: gain`` (accepted on the data searched), the only rule
when the numbers of ``docs/fine-grained.md`` were made; the product's default is now ``confirm``.

Analyses (``--analysis``):

* ``searches``: the global sweep and each per-block search (``lines``/``coordinate``, budgets) on
  the run's own held-out sets; test numbers of every choice, side by side. Also the *oracle*: the
  same searches run on the test sets (a ceiling, never a method).
* ``size``: how many held-out digits the finer search needs. The 140 held-out and 400 test digits
  (never trained on) are pooled and re-split ``--repeats`` times into a fixed evaluation half and
  selection sets of ``--sizes`` images from the other half; support tasks keep their held-out
  (selection) and test (evaluation) sets.

Run from the repository root (one thread; CPU):
``OMP_NUM_THREADS=1 python docs/fine_grained_study.py /work/fg-runs/seed0/lightning_logs/version_0``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from paint_lightning import PaintDataModule, PaintModule  # noqa: E402
from paint_lightning.commands.cli import PaintCLI  # noqa: E402
from paint_lightning.data.cache import finished  # noqa: E402
from paint_lightning.engine import Counts, SweepSettings, sweep_alphas  # noqa: E402
from paint_lightning.engine.per_block.block_search import BlockSearch, search_blocks  # noqa: E402
from paint_lightning.engine.protocol import patch_tensors  # noqa: E402
from paint_lightning.interpolation import InPlaceCombiner, Mix, parameter_group  # noqa: E402

SETTINGS = SweepSettings(search="adaptive", resolution=0.05, criterion="constrained_mean", max_support_drop=1.5)


def build(settings: dict[str, Any]) -> tuple[PaintModule, PaintDataModule]:
    """The model and data of a ``paint fit`` config (as a dict), set up for evaluation."""
    settings = {k: v for k, v in settings.items() if k not in ("ckpt_path", "weights_only")}  # `fit` arguments
    cli = PaintCLI(PaintModule, PaintDataModule, args=settings, run=False)
    model, data = cli.model, cli.datamodule
    data.set_transforms(model.preprocess_train, model.preprocess_eval)
    data.setup("fit")
    data.setup("test")
    model.set_tasks(data.task_specs())
    model.configure_model()
    return model, data


def load_run(model: PaintModule, run: Path) -> dict[str, Any]:
    """Loads the last checkpoint of ``run`` into ``model``; returns the checkpoint."""
    state = torch.load(sorted((run / "checkpoints").glob("*.ckpt"))[-1], map_location="cpu", weights_only=True)
    model.on_load_checkpoint(state)
    model.load_state_dict(state["state_dict"])
    return state


class Predictions:
    """Per-example correctness of mixes over every held-out and test example, cached on disk.

    Args:
        model: The model; its live tower is the end point unless ``ends`` are given.
        data: The DataModule (set up).
        cache: File of the cache.
        ends: End points other than the live tower (name -> tensor of the tower).
        tag: Prefix of this end set's cache keys.
    """

    def __init__(self, model: PaintModule, data: PaintDataModule, cache: Path, ends: list | None = None, tag: str = ""):
        model.eval()
        self.model, self.ends, self.tag = model, ends, tag
        self.roles = {spec.name: spec.role for spec in model.task_specs}
        self.batches: list[tuple[str, Any, Any]] = []
        self.index: dict[tuple[str, str], torch.Tensor] = {}
        offset = 0
        for split, sets in (("heldout", data.cached_heldout_sets()), ("test", data.cached_test_sets())):
            for task in self.roles:
                size = 0
                for batch in data.eval_dataloader(sets[task]):
                    images, labels = finished(batch)[:2]  # uint8-cached sets: float, as the transform gives
                    self.batches.append((task, images, torch.as_tensor(labels)))
                    size += len(labels)
                self.index[(split, task)] = torch.arange(offset, offset + size)
                offset += size
        self.path = cache
        self.cache: dict[str, torch.Tensor] = torch.load(self.path) if self.path.exists() else {}
        self.groups = sorted({parameter_group(name) for name in patch_tensors(model)[0]})

    @classmethod
    def from_run(cls, run: Path) -> Predictions:
        """The run's fine-tuned and zero-shot towers, its held-out and test sets."""
        model, data = build(yaml.safe_load((run / "config.yaml").read_text()))
        load_run(model, run)
        return cls(model, data, run / "fine_grained_cache.pt")

    def with_ends(self, ends: list, tag: str) -> Predictions:
        """The same model and data with other end points (sharing the cache)."""
        other = copy.copy(self)
        other.ends, other.tag = ends, tag
        return other

    @torch.no_grad()
    def correct(self, mixes: list[Mix]) -> list[torch.Tensor]:
        """Boolean correctness of every example under each mix (new mixes: one pass each)."""
        key = lambda mix: self.tag + _key(mix)  # noqa: E731
        todo = [m for m in dict.fromkeys(mixes) if key(m) not in self.cache]
        if todo:
            live, start = patch_tensors(self.model)
            with InPlaceCombiner(live, start, self.ends) as combiner:
                for mix in todo:
                    combiner.set(mix)
                    hits = [self.model(images, task).argmax(-1) == labels for task, images, labels in self.batches]
                    self.cache[key(mix)] = torch.cat(hits)
            torch.save(self.cache, self.path)
        return [self.cache[key(m)] for m in mixes]

    def measure(self, selection: dict[str, torch.Tensor]):
        """A ``measure(mixes) -> Counts`` over the examples ``selection`` names (task -> indices)."""
        tasks = list(self.roles)

        def measure(mixes: list[Mix]) -> Counts:
            counts = Counts.zeros(tasks, mixes)
            for j, hits in enumerate(self.correct(list(mixes))):
                for i, task in enumerate(tasks):
                    counts.correct[i, j] = int(hits[selection[task]].sum())
            counts.total[:] = torch.tensor([len(selection[t]) for t in tasks])
            return counts

        return measure

    def split(self, name: str) -> dict[str, torch.Tensor]:
        """Task -> indices of the ``heldout`` or ``test`` split."""
        return {task: self.index[(name, task)] for task in self.roles}


def choose(pred: Predictions, selection: dict[str, torch.Tensor], searches: list[BlockSearch]) -> dict[str, Any]:
    """alpha* and each per-block search on ``selection``; the mixes chosen (global first)."""
    measure = pred.measure(selection)
    record, table = sweep_alphas(measure, pred.roles, SETTINGS)
    alpha = record["selected_alpha"]
    out: dict[str, Any] = {"global": {"mix": alpha, "selected": alpha}}
    for block in searches:
        result = search_blocks(measure, pred.roles, SETTINGS, block, pred.groups, alpha, table)
        name = f"{block.search}/{block.budget}" + (f"/min{block.min_gain:g}" if block.min_gain else "")
        out[name] = {
            "mix": result["best_mix"],
            "selected": result["selected_mix"],
            "won": result["won"],
            "evaluations": result["evaluations"],
            "price": result["support_price"],
        }
    return out


def scores(pred: Predictions, selection: dict[str, torch.Tensor], mix_json: Any) -> dict[str, float]:
    """Patch accuracy, gain kept (% of fine-tuned minus zero-shot) and mean support drop on ``selection``."""
    measure = pred.measure(selection)
    mixes = [Mix.of(0.0), Mix.of(1.0), Mix.from_json(mix_json)]
    counts = measure(mixes)
    acc = {m: counts.column(m) for m in mixes}
    patch = [t for t, r in pred.roles.items() if r == "patch"]
    support = [t for t, r in pred.roles.items() if r == "support"]

    def mean(mix: Mix, tasks: list[str]) -> float:
        return sum(acc[mix].accuracy(t) for t in tasks) / len(tasks)

    zs, ft, mix = mixes
    return {
        "patch": mean(mix, patch),
        "gain_kept": 100 * (mean(mix, patch) - mean(zs, patch)) / (mean(ft, patch) - mean(zs, patch)),
        "support_drop": mean(zs, support) - mean(mix, support),
    }


def searches_analysis(pred: Predictions, searches: list[BlockSearch], oracle: bool) -> dict[str, Any]:
    """Choices on the held-out sets, scored on held-out and test; the oracle chosen on test."""
    heldout, test = pred.split("heldout"), pred.split("test")
    result: dict[str, Any] = {}
    for name, choice in choose(pred, heldout, searches).items():
        result[name] = {
            **choice,
            "heldout": scores(pred, heldout, choice["mix"]),
            "test": scores(pred, test, choice["mix"]),
            "test_selected": scores(pred, test, choice["selected"]),
        }
    if oracle:
        best = choose(pred, test, searches)
        result["oracle"] = {name: {"mix": c["mix"], "test": scores(pred, test, c["mix"])} for name, c in best.items()}
    return result


def size_analysis(pred: Predictions, searches: list[BlockSearch], sizes: list[int], repeats: int) -> dict[str, Any]:
    """Gain kept on a fixed evaluation half of the pooled digits, by selection-set size."""
    patch = [t for t, r in pred.roles.items() if r == "patch"]
    if len(patch) != 1:
        raise SystemExit("the size analysis re-splits one patch task")
    task = patch[0]
    pool = torch.cat([pred.index[("heldout", task)], pred.index[("test", task)]])
    half = len(pool) // 2
    out: dict[str, Any] = {}
    for size in sizes:
        if size > len(pool) - half:
            raise SystemExit(f"--sizes {size}: at most {len(pool) - half} selection images")
        rows = []
        for repeat in range(repeats):
            order = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(repeat))]
            evaluation = {**pred.split("test"), task: order[:half]}
            selection = {**pred.split("heldout"), task: order[half : half + size]}
            choices = choose(pred, selection, searches)
            rows.append(
                {name: scores(pred, evaluation, c["selected"]) | {"mix": c["selected"]} for name, c in choices.items()}
            )
        out[str(size)] = rows
    return out


def _key(mix: Mix) -> str:
    return json.dumps(mix.to_json(), sort_keys=True)


def main() -> None:
    """Runs the analyses on each run directory and writes JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--analysis", choices=["searches", "size"], default="searches")
    parser.add_argument("--search", nargs="+", default=["lines:40", "coordinate:40", "coordinate:120"])
    parser.add_argument("--min_gain", type=float, default=0.0)
    parser.add_argument("--oracle", action="store_true", help="also choose on the test sets (a ceiling)")
    parser.add_argument("--sizes", nargs="+", type=int, default=[70, 140, 270])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    searches = [
        BlockSearch(search=s.split(":")[0], budget=int(s.split(":")[1]), min_gain=args.min_gain, accept="gain")
        for s in args.search
    ]
    results = {}
    for run in args.runs:
        pred = Predictions.from_run(run)
        if args.analysis == "searches":
            results[str(run)] = searches_analysis(pred, searches, args.oracle)
        else:
            results[str(run)] = size_analysis(pred, searches, args.sizes, args.repeats)
        args.out.write_text(json.dumps(results, indent=1))
        print(f"{run}: done ({len(pred.cache)} mixes cached)", flush=True)


if __name__ == "__main__":
    main()
