import json
import math
import re
from pathlib import Path

import pytest
import torch

import paint_lightning.commands.parallel as parallel
from paint_lightning.commands.cli import main
from paint_lightning.engine.alpha_sweep import SweepSettings
from paint_lightning.engine.counts import Counts
from paint_lightning.engine.parallel_search import end_point_device, parallel_search
from paint_lightning.engine.protocol import patch_tensors
from paint_lightning.interpolation.merges import merge_end_point
from paint_lightning.interpolation.mix import Mix
from paint_lightning.io.patched import load_patched
from tests.run_fixtures import SHADES, TINY_YAML, sweep_flags

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
    # Normalised test accuracy: a patch task by the run fine-tuned on it, a support task by zero-shot.
    tests, own = report["methods"]["parallel"]["test"], report["fine_tuned_test"]
    assert tests["patches"]["normalised"] == pytest.approx(
        100 * tests["patches"]["accuracy"] / own["run0"]["patches"]["accuracy"]
    )
    assert tests["shades"]["normalised"] == pytest.approx(
        100 * tests["shades"]["accuracy"] / own["run1"]["shades"]["accuracy"]
    )
    assert own["run0"]["patches"]["normalised"] == pytest.approx(100.0)
    zero = report["zero_shot_test"]["other"]["accuracy"]
    assert tests["other"]["normalised"] == pytest.approx(100 * tests["other"]["accuracy"] / zero)


def test_parallel_refuses_runs_of_another_start_point(tiny_run, tmp_path, capsys):
    other = tmp_path / "other"
    flags = ["--model.clip.quick_gelu=true", "--seed_everything=1", "--trainer.max_epochs=1"]
    main(["fit", "--config", TINY_YAML, *flags, f"--trainer.default_root_dir={other}"])  # another random start
    runs = ["--runs", str(tiny_run), str(other / "lightning_logs/version_0")]
    with pytest.raises(SystemExit) as exit_info:
        main(["parallel", "--config", TINY_YAML, *runs, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "not fine-tuned from the same zero-shot model" in err


def test_parallel_refuses_an_unknown_merge_before_loading_runs(tmp_path, capsys):
    missing = ["--runs", str(tmp_path / "no_run_a"), str(tmp_path / "no_run_b")]
    with pytest.raises(SystemExit) as exit_info:
        main(["parallel", "--config", TINY_YAML, *missing, "--merge", "ties", "dare", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--merge dare: unknown method" in err and "ties" in err.split("use", 1)[1]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("merge", "options", "message"),
    [
        (
            ["iso_c"],
            '{"iso_c": {"density": 0.5}}',
            "--merge_options: 'density' is not an option of merge method 'iso_c', which takes no options",
        ),
        (["ties"], '{"ties": {"k": 0.5}}', "'k' is not an option of merge method 'ties', which takes density \\(float"),
        (["ties"], '{"ties": {"density": 1.5}}', "--merge_options: ties: density=1.5; give the share"),
        (["task_arithmetic"], '{"ties": {"density": 0.5}}', "options for 'ties', which --merge does not list"),
        (["ties"], '{"ties": {density: 0.5}}', "--merge_options=.* is not JSON"),
        (["ties"], "[0.5]", "give a JSON object of method -> options"),
    ],
)
def test_parallel_refuses_wrong_merge_options_before_loading_runs(merge, options, message, tmp_path, capsys):
    missing = ["--runs", str(tmp_path / "no_run_a"), str(tmp_path / "no_run_b")]
    flags = ["--merge", *merge, "--merge_options", options, "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as exit_info:
        main(["parallel", "--config", TINY_YAML, *missing, *flags])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and re.search(message, err), err
    assert not (tmp_path / "o").exists()


def test_the_runs_stay_on_the_host_when_the_device_is_short() -> None:
    ends = [{"w": torch.zeros(1000)}, {"w": torch.zeros(1000)}]  # 8000 bytes
    cuda = torch.device("cuda")
    assert end_point_device(ends, cuda, free_bytes=16_000) == cuda
    assert end_point_device(ends, cuda, free_bytes=15_999) == torch.device("cpu")
    assert end_point_device(ends, torch.device("cpu")) == torch.device("cpu")


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
    roles = {"a": "patch", "b": "patch", "s": "support"}
    settings = SweepSettings(alphas=(0.0, 0.25, 0.5, 0.75, 1.0))
    measure = _fake_measure(lambda t, c: _accuracy(t, c[:2]) - 5 * sum(c[2:]))
    runs = ["r0", "r1", "r2", "r3"]
    with pytest.raises(ValueError, match="--budget=6 is below the 9 evaluations coordinate ascent needs"):
        parallel_search(measure, roles, runs, settings, "auto", budget=6)  # start, 4 runs, 4 more on the diagonal
    small, small_table = parallel_search(measure, roles, runs, settings, "auto", budget=12)
    assert small["search"] == "coordinate" and len(small_table) <= 12 and len(small["candidates"]) > 5
    record, table = parallel_search(measure, roles, runs, settings, "auto", budget=40)
    assert len(table) <= 40
    diagonal = [c["objective"] for c in record["candidates"] if len(set(c["mix"])) == 1]
    assert record["objective"] >= max(diagonal) and not math.isinf(record["objective"])
    assert record["selected_mix"][2:] == [0.0, 0.0]  # the unhelpful runs are switched off
    assert Mix.of(0.0, 0.0, 0.0, 0.0) in table


def test_with_a_budget_auto_takes_the_grid_only_when_it_fits():
    roles = {"a": "patch", "b": "patch", "s": "support"}
    settings = SweepSettings(alphas=(0.0, 0.25, 0.5, 0.75, 1.0))
    measure = _fake_measure(_accuracy)
    fits, table = parallel_search(measure, roles, ["r0", "r1"], settings, "auto", budget=25)
    assert fits["search"] == "grid" and len(table) == 25
    short, table = parallel_search(measure, roles, ["r0", "r1"], settings, "auto", budget=24)
    assert short["search"] == "coordinate" and len(table) <= 24


def test_a_merge_with_options_is_swept_and_its_export_is_start_plus_lambda_times_the_merge(
    tiny_run, second_run, tmp_path, capsys
):
    merge = ["--merge", "ties", "--merge_options", '{"ties": {"density": 0.3}}', "--export_method", "ties"]
    out, report = _parallel_of_both(tmp_path, [tiny_run, second_run], merge)
    assert set(report["methods"]) == {"parallel", "ties"} and "ties " in capsys.readouterr().out
    lam = report["methods"]["ties"]["mix"]
    sweep = report["methods"]["ties"]["sweep"]
    assert lam == sweep["selected_alpha"] and report["methods"]["ties"]["objective"] == max(
        o for o in sweep["objective"] if o is not None
    )
    _assert_export_is_start_plus_lambda_times_the_merge(out, [tiny_run, second_run], "ties", lam, density=0.3)


def _parallel_of_both(tmp_path, runs, merge: list[str]) -> tuple[Path, dict]:
    """``paint parallel`` of ``runs`` on both tasks with the ``merge`` flags; its output folder and report."""
    config = tmp_path / "both.yaml"
    config.write_text(BOTH)
    out = tmp_path / "merged"
    flags = ["--runs", *map(str, runs), *merge, "--out", str(out)]
    main(["parallel", "--config", TINY_YAML, "--config", str(config), *flags])
    return out, json.loads((out / "parallel_report.json").read_text())


def _assert_export_is_start_plus_lambda_times_the_merge(out, runs, method: str, lam: float, **options) -> None:
    """The model `paint parallel` exported to ``out`` is ``start + lam * (merge - start)`` for ``method``."""
    state, meta = load_patched(out)
    assert meta["method"] == method and meta["mix"] == lam
    loaded, ends = parallel.load_runs([str(run) for run in runs], torch.device("cpu"))
    _, start = patch_tensors(loaded[0].module)
    merged = merge_end_point(method, start, ends, **options)
    for name, tensor in start.items():
        if tensor.is_floating_point():
            expected = tensor.float() + lam * (merged[name].float() - tensor.float())
            torch.testing.assert_close(state[f"visual.{name}"].float(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("exported", ["wudi", "lines"])
def test_wudi_and_lines_are_swept_over_their_ranges_and_exported_as_start_plus_lambda_times_the_merge(
    exported, tiny_run, second_run, tmp_path
):
    out, report = _parallel_of_both(
        tmp_path, [tiny_run, second_run], ["--merge", "wudi", "lines", "--export_method", exported]
    )
    assert set(report["methods"]) == {"parallel", "wudi", "lines"}
    assert report["methods"]["wudi"]["coefficient_range"] == [0.0, 1.0]
    assert report["methods"]["lines"]["coefficient_range"] == [0.0, 2.0]
    assert max(report["methods"]["lines"]["sweep"]["alphas"]) == 2.0
    lam = report["methods"][exported]["mix"]
    _assert_export_is_start_plus_lambda_times_the_merge(out, [tiny_run, second_run], exported, lam)


def test_real_merges_compare_with_parallel_and_task_arithmetic_is_the_diagonal(tiny_run, second_run, tmp_path):
    merge = ["--merge", "task_arithmetic", "ties", "--merge_options", '{"ties": {"density": 0.5}}']
    _, report = _parallel_of_both(tmp_path, [tiny_run, second_run], merge)
    assert set(report["methods"]) == {"parallel", "task_arithmetic", "ties"}
    ta = report["methods"]["task_arithmetic"]
    sweep = ta["sweep"]
    on_the_grid = {tuple(c["mix"]): c["objective"] for c in report["candidates"]}
    shared = [lam for lam in sweep["alphas"] if (lam, lam) in on_the_grid]
    assert shared == [0.0, 0.5, 1.0]  # the parallel grid's diagonal; the merge's own grid is finer (step 0.1)
    for lam in shared:
        # lambda * (tau_1 + tau_2) is the parallel point (lambda, lambda)
        objective = sweep["objective"][sweep["alphas"].index(lam)]
        assert objective == pytest.approx(on_the_grid[(lam, lam)], abs=1e-9)
    # Each method within the same budget (31 by default with --merge), each merge over its published range.
    assert report["methods"]["parallel"]["evaluations"] == 9  # the 3 x 3 grid fits
    assert sweep["alphas"] == pytest.approx([i / 10 for i in range(11)]) and ta["coefficient_range"] == [0.0, 1.0]
    ties = report["methods"]["ties"]
    assert ties["coefficient_range"] == [0.0, 2.5] and max(ties["sweep"]["alphas"]) == 2.5
    assert all(report["methods"][m]["evaluations"] <= parallel.COMPARE_BUDGET for m in report["methods"])
    assert all(report["methods"][m]["test"]["patches"]["accuracy"] >= 0 for m in report["methods"])


def test_parallel_refuses_a_run_made_with_another_split_seed(tiny_run, zero_shot_file, tmp_path, capsys):
    (tmp_path / "shades.yaml").write_text(SHADES)
    seeded = ["--data.split_seed=1", "--trainer.max_epochs=1", f"--trainer.default_root_dir={tmp_path / 'seed1'}"]
    main(["fit", *sweep_flags(zero_shot_file), "--config", str(tmp_path / "shades.yaml"), *seeded])
    other_seed = tmp_path / "seed1" / "lightning_logs" / "version_0"
    config = tmp_path / "both.yaml"
    config.write_text(BOTH)
    runs = ["--runs", str(tiny_run), str(other_seed)]
    with pytest.raises(SystemExit) as exit_info:
        main(["parallel", "--config", TINY_YAML, "--config", str(config), *runs, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"--runs[1]='{other_seed}' was made from other data" in err
    assert "data.split_seed: 1 in the checkpoint, 0 now" in err and "--data.split_seed 1" in err
    assert not (tmp_path / "o").exists()
