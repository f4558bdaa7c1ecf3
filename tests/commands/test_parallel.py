import json
import math

import pytest
import torch

from paint_lightning.cli import main
from paint_lightning.engine.alpha_sweep import SweepSettings
from paint_lightning.engine.counts import Counts
from paint_lightning.engine.parallel import parallel_search
from paint_lightning.export import load_patched
from paint_lightning.interpolation.mix import Mix
from tests.commands.conftest import SHADES, TINY_YAML

BOTH = (
    "data:\n  patch:\n    - name: patches\n      source:\n"
    "        class_path: paint_lightning.data.synthetic.ColourPatchSource\n"
    "        init_args: {num_classes: 4, num_train: 60, num_test: 31, seed: 1}\n      templates: ['a photo of {}.']\n"
    + SHADES.split("  patch:\n", 1)[1]
    + "sweep:\n  alphas: [0.0, 0.5, 1.0]\n"
)


def test_parallel_patching_of_two_runs_searches_the_grid_and_exports_the_best(tiny_run, second_run, tmp_path, capsys):
    config = tmp_path / "both.yaml"
    config.write_text(BOTH)
    out = tmp_path / "parallel"
    runs = ["--runs", str(tiny_run), str(second_run)]
    main(["parallel", "--config", TINY_YAML, "--config", str(config), *runs, "--out", str(out), "--device", "cpu"])
    report = json.loads((out / "parallel_report.json").read_text())
    assert report["search"] == "grid" and len(report["candidates"]) == 9  # 3 values, 2 runs
    best = max(c["objective"] for c in report["candidates"] if c["objective"] is not None)
    assert report["objective"] == best and report["methods"]["parallel"]["mix"] == report["selected_mix"]
    chosen = next(c for c in report["candidates"] if c["mix"] == report["selected_mix"])
    for task in ("patches", "shades", "other"):
        assert report["tasks"][task]["parallel"] == chosen["accuracy"][task]
    zero = next(c for c in report["candidates"] if c["mix"] == [0.0, 0.0])
    assert all(zero["accuracy"][t] == report["tasks"][t]["zero_shot"] for t in report["tasks"])
    run_only = next(c for c in report["candidates"] if c["mix"] == [1.0, 0.0])
    assert run_only["accuracy"]["patches"] == report["tasks"]["patches"]["each_run"]["run0"]
    _state, meta = load_patched(out)
    assert meta["method"] == "parallel" and meta["mix"] == report["selected_mix"]
    assert "Parallel patching vs merges" in capsys.readouterr().out


def test_parallel_refuses_runs_of_another_start_point(tiny_run, tmp_path, capsys):
    other = tmp_path / "other"
    flags = ["--model.clip.quick_gelu=true", "--seed_everything=1", "--trainer.max_epochs=1"]
    main(["fit", "--config", TINY_YAML, *flags, f"--trainer.default_root_dir={other}"])  # another random start
    runs = ["--runs", str(tiny_run), str(other / "lightning_logs/version_0")]
    with pytest.raises(SystemExit) as exit_info:
        main(["parallel", "--config", TINY_YAML, *runs, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "not fine-tuned from the same zero-shot model" in err


def _fake_measure(accuracy):
    """Counts from a closed-form accuracy of the coefficients (out of 1000 images per task)."""

    def measure(mixes):
        tasks = ["a", "b", "s"]
        counts = Counts.zeros(tasks, mixes)
        counts.total[:] = 1000
        for j, mix in enumerate(mixes):
            for i, task in enumerate(tasks):
                counts.correct[i, j] = round(10 * accuracy(task, mix.terms))
        return counts

    return measure


def _accuracy(task, c):
    if task == "s":  # support: falls with the total amount moved
        return 90 - 20 * max(0.0, sum(c) - 0.8)
    k = "ab".index(task)
    return 40 + 50 * (1 - (c[k] - 0.7) ** 2) - 10 * sum(c[j] for j in range(len(c)) if j != k)


def test_grid_search_finds_the_best_point_and_ties_go_to_the_zero_shot_side():
    roles = {"a": "patch", "b": "patch", "s": "support"}
    settings = SweepSettings(alphas=(0.0, 0.25, 0.5, 0.75, 1.0))
    record, _ = parallel_search(_fake_measure(_accuracy), roles, ["r0", "r1"], settings, "grid")
    points = [c["mix"] for c in record["candidates"]]
    values = [c["objective"] for c in record["candidates"]]
    assert len(points) == 25 and record["objective"] == max(values)
    best = [p for p, v in zip(points, values, strict=True) if v == max(values)]
    assert record["selected_mix"] == min(best, key=lambda p: (sum(p), p))


def test_coordinate_ascent_beyond_three_runs_stays_within_budget():
    pytest.importorskip("paint_lightning.interpolation.coordinate")
    roles = {"a": "patch", "b": "patch", "s": "support"}
    settings = SweepSettings(alphas=(0.0, 0.25, 0.5, 0.75, 1.0))
    measure = _fake_measure(lambda t, c: _accuracy(t, c[:2]) - 5 * sum(c[2:]))
    runs = ["r0", "r1", "r2", "r3"]
    small, _ = parallel_search(measure, roles, runs, settings, "auto", budget=6)
    assert small["search"] == "coordinate" and len(small["candidates"]) <= 5 + 6  # the diagonal, then the budget
    record, table = parallel_search(measure, roles, runs, settings, "auto", budget=40)
    diagonal = [c["objective"] for c in record["candidates"] if len(set(c["mix"])) == 1]
    assert record["objective"] >= max(diagonal) and not math.isinf(record["objective"])
    assert record["selected_mix"][2:] == [0.0, 0.0]  # the unhelpful runs are switched off
    assert Mix.of(0.0, 0.0, 0.0, 0.0) in table


def test_merges_are_swept_and_compared_under_the_same_criterion(tiny_run, second_run, tmp_path, monkeypatch, capsys):
    import paint_lightning.commands.parallel as parallel

    def task_arithmetic(method, start, ends, scale=1.0):  # stands in for FG's merges in this test
        return {
            k: v + scale * sum(end[k] - v for end in ends) if v.is_floating_point() else v for k, v in start.items()
        }

    monkeypatch.setattr(parallel, "_merge_fn", lambda: task_arithmetic)
    config = tmp_path / "both.yaml"
    config.write_text(BOTH)
    out = tmp_path / "merged"
    runs = ["--runs", str(tiny_run), str(second_run)]
    merge = ["--merge", "sum", "--merge_options", '{"sum": {"scale": 0.5}}', "--export_method", "sum"]
    main(["parallel", "--config", TINY_YAML, "--config", str(config), *runs, *merge, "--out", str(out)])
    report = json.loads((out / "parallel_report.json").read_text())
    lam = report["methods"]["sum"]["mix"]
    # lambda * (0.5 * sum of task vectors) is the parallel point (lambda / 2, lambda / 2).
    same = next(c for c in report["candidates"] if c["mix"] == [lam / 2, lam / 2]) if lam in (0.0, 1.0) else None
    if same is not None:
        assert report["methods"]["sum"]["objective"] == same["objective"]
    assert set(report["methods"]) == {"parallel", "sum"} and "sum " in capsys.readouterr().out
    state, meta = load_patched(out)
    assert meta["method"] == "sum" and meta["mix"] == lam
    assert torch.isfinite(state["visual.proj"]).all()


def test_real_merges_compare_with_parallel_and_task_arithmetic_is_the_diagonal(tiny_run, second_run, tmp_path):
    pytest.importorskip("paint_lightning.interpolation.merges")
    config = tmp_path / "both.yaml"
    config.write_text(BOTH)
    out = tmp_path / "merges"
    runs = ["--runs", str(tiny_run), str(second_run)]
    merge = ["--merge", "task_arithmetic", "ties", "--merge_options", '{"ties": {"density": 0.5}}']
    main(["parallel", "--config", TINY_YAML, "--config", str(config), *runs, *merge, "--out", str(out)])
    report = json.loads((out / "parallel_report.json").read_text())
    assert set(report["methods"]) == {"parallel", "task_arithmetic", "ties"}
    ta = report["methods"]["task_arithmetic"]
    sweep = ta["sweep"]
    for lam, objective in zip(sweep["alphas"], sweep["objective"], strict=True):
        # lambda * (tau_1 + tau_2) is the parallel point (lambda, lambda)
        diagonal = next(c for c in report["candidates"] if c["mix"] == [lam, lam])
        assert objective == pytest.approx(diagonal["objective"], abs=1e-9)
    assert all(report["methods"][m]["test"]["patches"]["accuracy"] >= 0 for m in report["methods"])
