"""FSDP2 (Lightning's ModelParallelStrategy, gloo on CPU): sharded towers, distributed checkpoints, the export."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.test_distributed import TINY, _checkpoint, _paint, _reports, _sweep_view, _validate

pytestmark = pytest.mark.slow

FSDP = [
    "--trainer.devices=2",
    "--trainer.strategy=lightning.pytorch.strategies.ModelParallelStrategy",
    "--trainer.strategy.data_parallel_size=2",
    "--trainer.strategy.tensor_parallel_size=1",
]
"""Lightning's defaults otherwise: checkpoints are distributed (a folder per checkpoint, each process its shard)."""


def _counts_view(result: dict) -> dict:
    """A test record without the summed losses (their last bits depend on the order of summation)."""
    return {
        name: {key: value for key, value in row.items() if "loss" not in key} for name, row in result["tasks"].items()
    }


UNEVEN = ["--data.eval_batch_size=5"]
"""On 2 processes: held-out 'other' (11 images) is 6 + 5 items, 2 batches vs 1; test 'patches' (31) is
16 + 15 items, 4 batches vs 3. Under FSDP every forward is a collective, so every rank must run the
same forwards."""


def test_fsdp_sharded_towers_sweep_and_export_like_one_process(tmp_path) -> None:
    """FSDP2 (Lightning's ModelParallelStrategy, gloo on CPU, its default distributed checkpoints):
    the live tower and its start point are sharded alike, interpolated shard by shard, and the
    export gathers the full weights. Evaluation shards of unequal size (see UNEVEN) keep the ranks
    in step in the fit's sweep and final test, `paint validate` and `paint test` (of the checkpoint
    folder, on one process and under FSDP), with the counts of one process. The offline commands
    read the folder."""
    import torch

    from paint_lightning.io.patched import load_patched
    from paint_lightning.models.run_loading import load_run

    _paint("fit", "--config", str(TINY), *FSDP, *UNEVEN, f"--trainer.default_root_dir={tmp_path / 'fit'}")
    (fit,) = _reports(tmp_path / "fit")
    checkpoint = _checkpoint(tmp_path / "fit")
    assert checkpoint.is_dir() and (checkpoint / ".metadata").is_file()  # Lightning's default under FSDP
    one, fsdp = _validate(checkpoint, tmp_path, UNEVEN, [*FSDP, *UNEVEN])
    assert _sweep_view(fsdp) == _sweep_view(one) == _sweep_view(fit)
    assert len(set(one["tasks"]["patches"]["accuracy"])) > 1  # the curve is not flat: a real test
    assert {name: task["num_examples"] for name, task in fsdp["tasks"].items()} == {"patches": 15, "other": 11}
    tests = []
    for index, extra in enumerate(([], FSDP)):
        out = tmp_path / f"test{index}"
        _paint(
            "test",
            "--config",
            str(TINY),
            f"--ckpt_path={checkpoint}",
            f"--trainer.default_root_dir={out}",
            *extra,
            *UNEVEN,
        )
        (report,) = _reports(out)
        tests.append(report["test"])
    assert _counts_view(tests[1]) == _counts_view(tests[0]) == _counts_view(fit["test"])
    assert {name: task["num_examples"] for name, task in tests[1]["tasks"].items()} == {"patches": 31, "other": 23}
    weights = next((tmp_path / "fit").rglob("patched.safetensors"))
    exported, meta = load_patched(weights)
    expected = load_run(checkpoint).module.patched_state_dict(meta["alpha"])  # one process, from the folder
    assert exported.keys() == expected.keys()
    assert all(torch.equal(exported[key], expected[key]) for key in expected)
    _offline_commands_read_the_folder(checkpoint.parents[1], weights, tmp_path)


def _offline_commands_read_the_folder(run: Path, weights: Path, tmp_path: Path) -> None:
    """`paint export`, `paint predict` and `paint parallel` of a run whose checkpoint is a folder."""
    from paint_lightning.commands.cli import main
    from paint_lightning.io.patched import load_patched

    main(["export", "--run", str(run), "--out", str(tmp_path / "export")])
    _, meta = load_patched(tmp_path / "export")
    assert meta["checkpoint"] == str(_checkpoint(run.parent))
    assert (tmp_path / "export" / weights.name).read_bytes() == weights.read_bytes()  # the fit's export, byte for byte
    task = "{name: patches, source: {class_path: paint_lightning.data.synthetic.ColourPatchSource, init_args: " \
        "{num_classes: 4, num_train: 60, num_test: 31, seed: 1}}, templates: ['a photo of {}.']}"  # fmt: skip
    out = tmp_path / "predictions.csv"
    main(["predict", "--run", str(run), "--task", task, "--top_k", "1", "--output", str(out)])
    assert len(out.read_text().splitlines()) == 1 + 31  # a header and the test split
    runs = ["--runs", str(run), str(_checkpoint(run.parent))]  # the run folder and its checkpoint folder
    main(["parallel", "--config", str(TINY), *runs, "--sweep.alphas=[0.0,1.0]", "--out", str(tmp_path / "par")])
    assert json.loads((tmp_path / "par" / "parallel_report.json").read_text())["candidates"]


def test_an_export_that_fails_on_rank_zero_ends_every_process_with_one_message(tmp_path) -> None:
    """Rank 0 cannot write patched.safetensors (a folder is in its place): it says why, once, and
    the other process, told so instead of waiting in a barrier, ends too (status 1, no second line)."""
    import time

    logs = tmp_path / "logs"
    (logs / "run" / "v" / "patched.safetensors").mkdir(parents=True)
    logger = [
        "--trainer.logger=lightning.pytorch.loggers.TensorBoardLogger",
        f"--trainer.logger.save_dir={logs}",
        "--trainer.logger.name=run",
        "--trainer.logger.version=v",
    ]
    flags = ["--trainer.max_epochs=1", "--sweep.final_test=false", "--sweep.alphas=[0.0,1.0]"]
    started = time.monotonic()
    process = _paint("fit", "--config", str(TINY), *FSDP, *flags, *logger, wait=False)
    try:
        output, _ = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"a process was left waiting after the export failed:\n{output[-3000:]}") from None
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert process.returncode == 1, output[-3000:]
    assert len(errors) == 1 and "Is a directory" in errors[0] and "patched.safetensors" in errors[0], output[-3000:]
    assert "Traceback" not in output and "stopped (" not in output  # no bug report, no "process N stopped"
    assert time.monotonic() - started < 200
