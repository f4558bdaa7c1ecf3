"""The per-block step of the sweep callback: report, test comparison, export, validate, CLI."""

import json
import logging
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from paint_lightning import InterpolationSweep
from paint_lightning.data.heldout import confirm_split, stable_seed
from paint_lightning.engine.per_block.block_search import BlockSearch
from paint_lightning.interpolation import Mix
from tests.callbacks.helpers import fit_tiny

ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]
BLOCK = BlockSearch(search="coordinate", budget=12, values=(0.0, 0.25, 0.5, 0.75, 1.0))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("per_block")
    sweep = InterpolationSweep(alphas=ALPHAS, per_block=BLOCK, every_n_epochs=2)
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        trainer, module, datamodule = fit_tiny(root, [sweep], epochs=2)
    finally:
        logger.removeHandler(handler)
    return trainer, module, datamodule, sweep, Path(trainer.log_dir), "\n".join(records)


def test_the_search_runs_after_the_last_sweep_and_its_choice_is_recorded(run) -> None:
    _, _, datamodule, sweep, log_dir, _ = run
    report = json.loads((log_dir / "paint_report.json").read_text())
    search = report["per_block"]
    assert search["search"] == "coordinate" and search["groups"] == ["embed", "block.0", "head"]
    assert 1 <= search["evaluations"] <= BLOCK.budget
    assert search["global_alpha"] == report["selected_alpha"]
    assert (
        report["selected_mix"]
        == search["selected_mix"]
        == (search["best_mix"] if search["won"] else search["global_alpha"])
    )
    assert sweep.selected_mix == Mix.from_json(report["selected_mix"])
    # The objective of alpha* in the search is the sweep's own objective at alpha*.
    index = report["alphas"].index(report["selected_alpha"])
    assert search["global_objective"] == pytest.approx(report["objective"][index])
    for name, row in search["heldout"].items():
        assert row["global"] == pytest.approx(report["tasks"][name]["accuracy"][index])
    # The default rule: the search scored mixes on the search parts, the confirm parts decided;
    # together they are the held-out sets (the rows above are their sum, equal to the sweep's).
    accept = search["accept"]
    assert accept["rule"] == "confirm" and accept["won"] == search["won"]
    sizes = {name: len(data) for name, data in datamodule.cached_heldout_sets().items()}
    for name, size in sizes.items():
        search_part, confirm_part = confirm_split(size, 0.5, stable_seed(datamodule.split_seed, name, "confirm"))
        assert accept["images"]["search"][name] == len(search_part) and accept["images"]["confirm"][name] == len(
            confirm_part
        )
    assert set(search["heldout_parts"]) == {"search", "confirm"}
    won = accept["confirm"]["gain"] is not None and accept["confirm"]["gain"] > 0
    assert search["won"] == (won and search["best_mix"] != search["global_alpha"])


def test_test_report_shows_global_and_per_block_side_by_side(run) -> None:
    _, _, _, _, log_dir, printed = run
    report = json.loads((log_dir / "paint_report.json").read_text())
    test = report["test"]
    assert test["per_block"]["per_block_mix"] == report["per_block"]["best_mix"]
    for name, row in test["per_block"]["tasks"].items():
        assert row["global"] == test["tasks"][name]["patched"]  # alpha*'s test accuracy
        assert 0 <= row["per_block"] <= 100
    assert "Global alpha* = " in printed and "per-block" in printed and "test" in printed
    assert "accept: confirm: " in printed and "held-out confirm part" in printed
    assert "PAINT result on the test splits" in printed  # the usual table is still there


def test_export_writes_the_selected_mix(run) -> None:
    _, module, _, _, log_dir, _ = run
    report = json.loads((log_dir / "paint_report.json").read_text())
    meta = json.loads((log_dir / "patched.json").read_text())
    assert meta["selected_mix"] == report["selected_mix"] and meta["per_block"]["won"] == report["per_block"]["won"]
    assert meta["per_block"]["accept"] == "confirm"
    exported = load_file(log_dir / "patched.safetensors")
    expected = module.patched_state_dict(Mix.from_json(report["selected_mix"]))
    for name in ("visual.conv1.weight", "visual.proj", "visual.transformer.resblocks.0.mlp.c_fc.weight"):
        assert torch.equal(exported[name], expected[name]), name


def test_a_winning_per_block_mix_is_what_gets_exported(tmp_path) -> None:
    # The "mean" criterion on these tiny held-out sets: some per-group mix beats alpha* on them (the
    # gain rule, so that a mix wins whatever the confirm parts say: this test is about the export).
    block = BlockSearch(search="coordinate", budget=20, accept="gain")
    sweep = InterpolationSweep(alphas=ALPHAS, per_block=block, every_n_epochs=2)
    _, module, _ = fit_tiny(tmp_path, [sweep], epochs=2)
    report = json.loads((Path(sweep.output_dir) / "paint_report.json").read_text())
    assert report["per_block"]["won"], report["per_block"]["trace"]
    mix = Mix.from_json(report["selected_mix"])
    assert not mix.is_scalar
    exported = load_file(Path(sweep.output_dir) / "patched.safetensors")
    expected = module.patched_state_dict(mix)
    assert all(torch.equal(exported[k], expected[k]) for k in expected if k.startswith("visual."))
    differs = module.patched_state_dict(report["selected_alpha"])
    assert any(not torch.equal(exported[k], differs[k]) for k in expected if k.startswith("visual."))
    meta = json.loads((Path(sweep.output_dir) / "patched.json").read_text())
    row = meta["tasks"]["patches"]
    assert row["heldout_accuracy"]["patched"] == report["per_block"]["heldout"]["patches"]["per_block"]
    assert row["test_accuracy"]["patched"] == report["test"]["per_block"]["tasks"]["patches"]["per_block"]


def test_validate_runs_the_search_too(run) -> None:
    trainer, module, datamodule, _, _, _ = run
    sweep = InterpolationSweep(alphas=ALPHAS, per_block=BlockSearch(search="lines", budget=4))
    from lightning.pytorch import Trainer

    validator = Trainer(
        accelerator="cpu",
        devices=1,
        callbacks=[sweep],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=trainer.default_root_dir,
    )
    validator.validate(module, datamodule)
    search = sweep.history[-1]["per_block"]
    assert search["search"] == "lines" and search["evaluations"] <= 4
    assert sweep.history[-1]["selected_mix"] == search["selected_mix"]


def test_cli_flags_configure_the_per_block_search(tmp_path) -> None:
    from paint_lightning import PaintDataModule, PaintModule
    from paint_lightning.commands.cli import PaintCLI

    args = [
        "--config",
        str(Path(__file__).resolve().parents[2] / "tests/conf/tiny.yaml"),
        "--sweep.per_block.search=lines",
        "--sweep.per_block.budget=5",
        f"--trainer.default_root_dir={tmp_path}",
    ]
    cli = PaintCLI(PaintModule, PaintDataModule, args=args, run=False)
    sweep = next(c for c in cli.trainer.callbacks if isinstance(c, InterpolationSweep))
    assert sweep.per_block == BlockSearch(search="lines", budget=5) and sweep.per_block.accept == "confirm"
    rules = ["--sweep.per_block.accept=paired", "--sweep.per_block.confirm_fraction=0.3"]
    rules.append("--sweep.per_block.paired_z=2")
    cli = PaintCLI(PaintModule, PaintDataModule, args=[*args, *rules], run=False)
    sweep = next(c for c in cli.trainer.callbacks if isinstance(c, InterpolationSweep))
    assert sweep.per_block == BlockSearch(search="lines", budget=5, accept="paired", confirm_fraction=0.3, paired_z=2.0)


def test_per_block_values_outside_zero_one_need_extrapolation() -> None:
    with pytest.raises(ValueError, match="allow_extrapolation"):
        InterpolationSweep(per_block=BlockSearch(values=(0.0, 1.5)))
    InterpolationSweep(per_block=BlockSearch(values=(0.0, 1.5)), alphas=[0.0, 1.5], allow_extrapolation=True)


def test_the_seam_does_nothing_without_a_search(recwarn) -> None:
    from paint_lightning.callbacks import per_block

    record = {"selected_alpha": 0.5}
    per_block.before_test(None, [record])  # sweep.per_block unset: no warning
    assert not recwarn.list
    with pytest.warns(UserWarning, match="no per-block search"):
        per_block.before_test(BLOCK, [record])
    assert per_block.mixes_to_test([record], 0.5) == []
    result: dict = {}
    per_block.add_test_result(result, {"p": "patch"}, {}, [record], 0.5)
    assert result == {}
    search = {"global_alpha": 0.5, "best_mix": Mix.of({"embed": 0.0, "head": 1.0}).to_json()}
    assert per_block.mixes_to_test([{**record, "per_block": search}], 0.5) == [
        Mix.of(0.5),
        Mix.of({"embed": 0.0, "head": 1.0}),
    ]
    assert per_block.mixes_to_test([{**record, "per_block": search}], None) == []
