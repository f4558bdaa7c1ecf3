"""docs/scale_finding.py: the figures of one run, the table over seeds, the commands (docs/scale-finding.md)."""

import json
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import save_file

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def script(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "docs"))
    import scale_finding

    yield scale_finding
    sys.modules.pop("scale_finding", None)


def _report(zero_shot: float, fine_tuned: float, patched: float, support: list[tuple[float, float, float]]) -> dict:
    tasks = {"digits": {"role": "patch", "zero_shot": zero_shot, "fine_tuned": fine_tuned, "patched": patched}}
    for i, (zs, ft, pa) in enumerate(support):
        tasks[f"s{i}"] = {"role": "support", "zero_shot": zs, "fine_tuned": ft, "patched": pa}
    curve = {"alphas": [0.0, 1.0], "patch_accuracy": [zero_shot, fine_tuned], "support_accuracy": [90.0, 90.0]}
    return {"test": {"alpha": 0.4, "tasks": tasks}, "limits": {"support": {"limit": 1.5}}, **curve}


def test_one_runs_figures_are_read_from_the_test_sets_of_its_report(script) -> None:
    row = script.run_metrics(_report(40.0, 90.0, 80.0, [(90.0, 60.0, 88.0), (70.0, 50.0, 69.0)]))
    assert row["kept"] == pytest.approx(0.8)  # (80 - 40) / (90 - 40)
    assert row["gap"] == pytest.approx(10.0)
    assert row["support_zero_shot"] == pytest.approx(80.0)
    assert row["support_drop"] == pytest.approx(1.5)  # 80 - mean(88, 69)
    assert row["support_drop_fine_tuned"] == pytest.approx(25.0)  # 80 - mean(60, 50)
    assert row["alpha"] == 0.4


def test_the_held_out_gain_kept_is_interpolated_where_the_drop_reaches_the_limit(script) -> None:
    report = {"alphas": [1.0, 0.0, 0.5], "patch_accuracy": [90.0, 40.0, 60.0], "support_accuracy": [80.0, 90.0, 89.0]}
    # drop 1.0 at 0.5, 10.0 at 1.0: the limit 1.5 is 1/18 of the way, at patch 60 + 30/18
    assert script.kept_at_limit(report, 1.5) == pytest.approx((60.0 + 30.0 / 18 - 40.0) / 50.0)
    assert script.kept_at_limit(report, 1.0) == pytest.approx(0.4)  # reached exactly at alpha 0.5
    assert script.kept_at_limit(report, 12.0) == 1.0  # the fine-tuned end is within the limit


def test_a_run_without_support_tasks_is_refused(script) -> None:
    with pytest.raises(SystemExit, match="support"):
        script.run_metrics(_report(40.0, 90.0, 80.0, []))


def test_the_summary_is_mean_minimum_and_maximum_over_seeds(script) -> None:
    summary = script.summarise([{"kept": 0.5}, {"kept": 0.9}, {"kept": 0.7}])
    assert summary["kept"] == pytest.approx((0.7, 0.5, 0.9))
    with pytest.raises(SystemExit):
        script.summarise([])


def test_parameters_count_the_image_tower_and_the_text_transformer_only(script, tmp_path) -> None:
    path = tmp_path / "w.safetensors"
    weights = {"visual.a": torch.zeros(3, 4), "visual.b": torch.zeros(5), "transformer.c": torch.zeros(2, 7)}
    save_file({**weights, "token_embedding.weight": torch.zeros(100, 8)}, str(path))
    assert script.parameters(path) == {"image": 17, "text": 14}


def _write_run(script, out: Path, size: str, seed: int, report: dict, patched: bool = True) -> Path:
    path = script.report_path(out, size, seed)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(report))
    if patched:
        (path.parent / "patched.safetensors").write_bytes(b"weights")
    return path


def test_the_table_has_a_row_per_size_with_every_finished_seed(script, tmp_path) -> None:
    for seed, patched in ((0, 80.0), (2, 70.0)):
        _write_run(script, tmp_path, "base", seed, _report(40.0, 90.0, patched, [(90.0, 60.0, 88.0)]))
    live = {key: value for key, value in _report(40.0, 90.0, 10.0, [(90.0, 60.0, 88.0)]).items() if key != "test"}
    _write_run(script, tmp_path, "base", 1, live, patched=False)  # a run still training: a partial report only
    _write_run(script, tmp_path, "deep", 0, live)  # no final test numbers
    lines = script.table(tmp_path).splitlines()
    assert len(lines) == 3 and lines[2].startswith("| base | 1.85M / 0.59M | 0,2 |")  # the shipped checkpoint
    assert "0.700 (0.600 to 0.800)" in lines[2]  # gain kept: 0.8 and 0.6


def test_run_refuses_to_start_over_an_unfinished_run(script, tmp_path) -> None:
    _write_run(script, tmp_path, "base", 0, {"alphas": [0.0]}, patched=False)
    with pytest.raises(SystemExit, match="unfinished run"):
        script.run(tmp_path, ["base"], [0])


def test_each_fit_is_the_quickstart_with_the_sizes_checkpoint_recipe_and_seed(script, tmp_path) -> None:
    command = script.fit_command(tmp_path, "deep", 2)
    assert command[command.index("--config") + 1] == "configs/quickstart.yaml"
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in command if arg.startswith("--") and "=" in arg)
    assert flags["model.clip.recipe"] == "configs/world/pretrain_deep.yaml"
    assert flags["model.clip.pretrained"].endswith("world_clip_deep.safetensors")
    assert flags["seed_everything"] == flags["data.split_seed"] == "2"
    assert flags["trainer.default_root_dir"] == str(tmp_path / "deep" / "seed2")


@pytest.mark.parametrize("size", ["deep", "wide"])
def test_a_larger_recipe_is_the_base_recipe_with_only_its_size_and_output_changed(script, size) -> None:
    base, larger = (yaml.safe_load((REPO / script.SIZES[s].recipe).read_text()) for s in ("base", size))
    assert yaml.safe_load((REPO / script.SIZES[size].recipe).read_text())["export"]["path"] == (
        script.SIZES[size].checkpoint
    )
    base_model, larger_model = base.pop("model")["model_cfg"], larger.pop("model")["model_cfg"]
    base.pop("export"), larger.pop("export")
    assert base == larger  # same steps, data, optimiser, seed
    changed = {
        (tower, key)
        for tower in ("vision_cfg", "text_cfg")
        for key in base_model[tower]
        if base_model[tower][key] != larger_model[tower][key]
    }
    factor = {"deep": ("layers",), "wide": ("width", "heads")}[size]
    assert changed == {(t, k) for t in ("vision_cfg", "text_cfg") for k in factor if k in base_model[t]}
    for tower, key in changed:
        assert larger_model[tower][key] == 2 * base_model[tower][key]


def _swept(patch: list[float], support: list[float], alphas: list[float]) -> dict:
    return {
        **_report(40.0, 90.0, 80.0, [(90.0, 60.0, 88.0)]),
        "alphas": alphas,
        "patch_accuracy": patch,
        "support_accuracy": support,
    }


def test_the_curve_takes_each_asked_alpha_from_an_adaptive_sweep_and_refuses_a_missing_one(script) -> None:
    report = _swept([10.0, 20.0, 25.0, 30.0], [90.0, 89.0, 88.5, 88.0], [0.0, 0.5, 0.55, 1.0])
    assert script.curve(report, [0.0, 0.5, 1.0]) == [(10.0, 90.0), (20.0, 89.0), (30.0, 88.0)]
    with pytest.raises(SystemExit, match=r"no alpha \[0\.3\]"):
        script.curve(report, [0.0, 0.3])


def test_the_figure_is_drawn_from_the_runs_found(script, tmp_path) -> None:
    alphas = [i / 10 for i in range(11)]
    with pytest.raises(SystemExit, match="no finished run"):
        script.figure(tmp_path, tmp_path / "img" / "empty.png")
    assert not (tmp_path / "img").exists()
    curve = _swept([40.0 + 5 * i for i in range(11)], [90.0 - i for i in range(11)], alphas)
    report = _write_run(script, tmp_path, "base", 0, curve)
    drawn = script.figure(tmp_path, tmp_path / "img" / "f.png")
    assert drawn.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit):  # a run without the 0.1 grid cannot be averaged with the others
        report.write_text(json.dumps(_swept([1.0, 2.0], [3.0, 4.0], [0.0, 1.0])))
        script.figure(tmp_path, tmp_path / "img" / "g.png")
