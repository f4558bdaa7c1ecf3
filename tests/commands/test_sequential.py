"""paint sequential: a chain of tiny fits, each from the previous export, protecting earlier tasks."""

import json
import os
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from paint_lightning.commands.cli import main
from paint_lightning.commands.sequential import run_chain
from paint_lightning.io.patched import WEIGHTS
from paint_lightning.workflows.chain import load_chain, parse_chain
from paint_lightning.workflows.sequential_report import ChainError, check_steps

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "conf" / "tiny.yaml"


def _task(name: str, seed: int, classes: int = 4) -> dict:
    source = {"num_classes": classes, "num_train": 48, "num_test": 24, "seed": seed}
    return {
        "name": name,
        "source": {"class_path": "paint_lightning.data.synthetic.ColourPatchSource", "init_args": source},
        "templates": ["a photo of {}."],
    }


def _chain(tmp_path: Path, **extra) -> Path:
    chain = {
        "fit": str(TINY),
        "output_dir": str(tmp_path / "chain"),
        "args": ["--trainer.max_epochs=1"],
        "steps": [{"patch": [_task("first", 5)]}, {"name": "second", "patch": [_task("second", 6, 3)]}],
        **extra,
    }
    path = tmp_path / "chain.yaml"
    path.write_text(yaml.safe_dump(chain), encoding="utf-8")
    return path


LIMITS = ["--sweep.criterion=constrained_mean", "--sweep.max_support_drop=100"]
# Records what each step finds in its process, then changes it (tests/probes.py).
PROBE = "--trainer.callbacks+=tests.probes.ProcessState"


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("sequential")
    chain = _chain(tmp_path, max_earlier_drop=99, args=["--trainer.max_epochs=1", *LIMITS, PROBE])
    main(["sequential", "--config", str(chain)])
    return tmp_path / "chain"


def test_each_step_starts_from_the_previous_export_and_protects_earlier_tasks(chain_run: Path) -> None:
    report = json.loads((chain_run / "sequential_report.json").read_text())
    first, second = report["steps"]
    assert first["patch"] == ["first"] and second["patch"] == ["second"]
    # Step 1 watches the later task; step 2 protects the earlier one, beside the shared support task.
    assert first["roles"] == {"first": "patch", "other": "support", "second": "transfer"}
    assert second["roles"] == {"second": "patch", "other": "support", "first": "support"}
    step2 = yaml.safe_load((chain_run / "step2-second" / "step.yaml").read_text())
    assert step2["model"]["clip"]["pretrained"] == str(Path(first["run_dir"]) / WEIGHTS)
    assert step2["model"]["clip"]["config"]["embed_dim"] == 16  # the shared config's model, kept
    assert [t["name"] for t in step2["data"]["support"]] == ["other", "first"]
    # The start of step 2 is the end of step 1, task by task (same held-out images).
    checks = report["checks"]
    assert checks["start_is_previous_patched"] and {c["task"] for c in checks["continuity"]} == {
        "first",
        "second",
        "other",
    }
    step1 = json.loads((Path(first["run_dir"]) / "paint_report.json").read_text())
    end = step1["tasks"]["first"]["accuracy"][step1["alphas"].index(step1["selected_alpha"])]
    assert second["heldout_support"]["first"]["start"] == end
    tasks = report["tasks"]
    assert tasks["first"]["patched_at_step"] == 1 and tasks["second"]["patched_at_step"] == 2
    assert tasks["second"]["start"] == first["test"]["second"]["zero_shot"]
    assert tasks["first"]["after_step"] == [first["test"]["first"]["patched"], second["test"]["first"]["patched"]]
    text = (chain_run / "sequential_report.txt").read_text()
    assert "after 2:second" in text and "mean patched" in text


def test_later_steps_limit_each_earlier_patch_and_call_alpha_zero_start(chain_run: Path) -> None:
    step1 = yaml.safe_load((chain_run / "step1-first" / "step.yaml").read_text())
    step2 = yaml.safe_load((chain_run / "step2-second" / "step.yaml").read_text())
    assert "sweep" not in step1 and step2["sweep"] == {"start_name": "start", "max_task_drop": {"first": 99.0}}
    report = json.loads((chain_run / "sequential_report.json").read_text())
    first, second = report["steps"]
    assert first["start_name"] == "zero-shot" and second["start_name"] == "start"
    assert first["limits"]["tasks"] == {} and set(second["limits"]["tasks"]) == {"first"}
    limit = second["limits"]["tasks"]["first"]
    assert limit["limit"] == 99.0 and limit["held"]
    assert limit["drop"] == pytest.approx(second["heldout_support"]["first"]["drop"])
    assert second["criterion"].endswith("within 100 points of start, and on its own: first within 99")
    text = (chain_run / "sequential_report.txt").read_text()
    mean_drop = second["limits"]["support"]["drop"]
    assert (
        f"Step 2 limits: support mean drop <= 100 ({mean_drop:.2f} at alpha*), "
        f"each earlier patch <= 99 (first {limit['drop']:.2f}): held"
    ) in text
    assert "zero-shot" not in text.split("Step 2 held-out support")[1]


def test_a_second_run_reuses_finished_steps(chain_run: Path, capsys) -> None:
    before = sorted(p.name for p in chain_run.glob("step1-first/lightning_logs/*"))
    chain = load_chain(chain_run.parent / "chain.yaml")
    run_chain(chain)
    out = capsys.readouterr().out
    assert "Step 1 (first) already done" in out and "Step 2 (second) done: alpha* = " in out
    assert "held-out support accuracy, start -> alpha*: other " in out and ", first " in out
    assert "  limits: support mean drop <= 100 (" in out and "each earlier patch <= 99 (first " in out
    assert sorted(p.name for p in chain_run.glob("step1-first/lightning_logs/*")) == before


def test_each_step_runs_in_a_process_of_its_own_so_nothing_leaks_into_the_next(chain_run: Path) -> None:
    first = json.loads((chain_run / "step1-first" / "process.json").read_text())
    second = json.loads((chain_run / "step2-second" / "process.json").read_text())
    assert len({first["pid"], second["pid"], os.getpid()}) == 3
    # Step 1 ended by setting float64, registering itself and adding a root logging handler: step 2 sees none.
    assert second == {**first, "pid": second["pid"]}
    assert second["default_dtype"] == "torch.float32" and second["runs_seen"] == [] and not second["probe_handler"]
    assert torch.get_default_dtype() == torch.float32  # nor did the chain's own process get them


def test_a_failing_step_ends_the_chain_naming_it_and_keeps_the_steps_before(chain_run: Path, capfd) -> None:
    step1 = chain_run / "step1-first"
    before = {p: p.stat().st_mtime_ns for p in step1.rglob("*") if p.is_file()}
    chain = yaml.safe_load((chain_run.parent / "chain.yaml").read_text())
    # Parses (any number is a float) but fails when step 2's model is built.
    chain["steps"][1] = {**chain["steps"][1], "name": "broken", "args": ["--model.lr=-1"]}
    broken = chain_run.parent / "broken.yaml"
    broken.write_text(yaml.safe_dump(chain))
    with pytest.raises(SystemExit) as exit_info:
        main(["sequential", "--config", str(broken)])
    assert exit_info.value.code == 2  # step 2's own exit status: a mistake in its config
    out, err = capfd.readouterr()
    assert "Step 1 (first) already done" in out and "=== Step 2/2: patching second ===" in out
    assert "lr=-1" in err  # the step's own error line, from its process
    record = json.loads((step1 / "done.json").read_text())
    assert "error: Step 2/2 (broken) failed (paint fit ended with exit status 2; its messages are above). " in err
    assert f"The steps before it are done and kept: {record['run_dir']}." in err
    assert {p: p.stat().st_mtime_ns for p in step1.rglob("*") if p.is_file()} == before
    assert not (chain_run / "step2-broken" / "done.json").exists()


def test_every_step_is_checked_before_the_first_one_starts(tmp_path: Path, capsys) -> None:
    chain = _chain(tmp_path, steps=[{"patch": [_task("a", 5)]}, {"patch": [_task("b", 6)], "args": ["--model.lrr=1"]}])
    with pytest.raises(SystemExit) as exit_info:
        main(["sequential", "--config", str(chain)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error: Step 2/2 (b): " in err and "--model.lrr=1" in err
    assert not (tmp_path / "chain").exists()


def test_check_steps_refuses_a_changed_text_tower(chain_run: Path, tmp_path: Path) -> None:
    report = json.loads((chain_run / "sequential_report.json").read_text())
    runs = [Path(step["run_dir"]) for step in report["steps"]]
    copy = tmp_path / "copy"
    copy.mkdir()
    state = load_file(runs[1] / WEIGHTS)
    state["logit_scale"] = state["logit_scale"] + 1
    save_file(state, copy / WEIGHTS, metadata={"format": "open_clip"})
    meta = json.loads((runs[1] / "patched.json").read_text())
    from paint_lightning.io.files import sha256_file

    meta["sha256"] = sha256_file(copy / WEIGHTS)
    (copy / "patched.json").write_text(json.dumps(meta))
    (copy / "paint_report.json").write_text((runs[1] / "paint_report.json").read_text())
    with pytest.raises(ChainError, match="outside the image tower"):
        check_steps([runs[0], copy])
    meta["tasks"]["first"]["templates"] = ["another {}."]
    state["logit_scale"] = state["logit_scale"] - 1
    save_file(state, copy / WEIGHTS, metadata={"format": "open_clip"})
    meta["sha256"] = sha256_file(copy / WEIGHTS)
    (copy / "patched.json").write_text(json.dumps(meta))
    with pytest.raises(ChainError, match="task 'first' has other class names or templates"):
        check_steps([runs[0], copy])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": []}, "at least two steps"),
        ({"fit": "missing.yaml"}, "missing.yaml' not found"),
        ({"colour": 1}, "unknown keys \\['colour'\\]"),
        ({"steps": [{"patch": [{"source": {}}]}, {"patch": [{"name": "b"}]}]}, "needs a name"),
        ({"steps": [{"patch": [{"name": "a"}]}, {"patch": [{"name": "a"}]}]}, "patched by an earlier step"),
        ({"evaluate_later": "yes"}, "evaluate_later='yes'"),
        ({"max_earlier_drop": -1}, r"max_earlier_drop=-1: give the points each earlier patch may drop"),
        ({"max_earlier_drop": "1"}, r"max_earlier_drop='1'"),
    ],
)
def test_bad_chains_name_the_field(tmp_path: Path, change: dict, message: str) -> None:
    data = {"fit": str(TINY), "steps": [{"patch": [{"name": "a"}]}, {"patch": [{"name": "b"}]}], **change}
    with pytest.raises(ValueError, match=message):
        parse_chain(data, tmp_path)


def test_a_patched_task_that_is_also_a_support_task_is_refused(tmp_path: Path) -> None:
    chain = load_chain(_chain(tmp_path, steps=[{"patch": [_task("other", 5)]}, {"patch": [_task("b", 6)]}]))
    with pytest.raises(ValueError, match=r"tasks \['other'\] are patched by a step and are also data\.support"):
        run_chain(chain)


def test_a_per_task_limit_under_the_mean_criterion_is_refused_before_training(tmp_path: Path) -> None:
    chain = load_chain(_chain(tmp_path, max_earlier_drop=1.0))
    with pytest.raises(ValueError, match=r"max_earlier_drop=1 limits each earlier patch's drop, which needs"):
        run_chain(chain)
    assert not (tmp_path / "chain").exists()


def test_a_chain_without_export_is_refused_before_training(tmp_path: Path) -> None:
    chain = load_chain(_chain(tmp_path))
    with pytest.raises(ValueError, match=r"sweep\.export is false"):
        run_chain(chain, ["--sweep.export=false"])
    assert not (tmp_path / "chain").exists()


@pytest.mark.parametrize("given", ["flag", "chain"])
def test_an_output_dir_under_a_regular_file_is_refused_naming_it_before_training(tmp_path: Path, given, capsys) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder\n")
    output = str(blocker / "chain")
    chain = _chain(tmp_path, **({"output_dir": output} if given == "chain" else {}))
    flags = ["--output_dir", output] if given == "flag" else []
    with pytest.raises(SystemExit) as exit_info:
        main(["sequential", "--config", str(chain), *flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert ("--output_dir" if given == "flag" else "output_dir (in the chain file)") in err and "notes.txt" in err
    assert not (tmp_path / "chain").exists()
