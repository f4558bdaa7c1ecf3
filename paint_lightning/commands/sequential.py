"""``paint sequential``: patch several tasks one after another, each step a ``paint fit`` in its own process.

Step ``k`` starts from step ``k - 1``'s patched model (its ``patched.safetensors``, loaded with
the model config the export records, QuickGELU included) and protects every task patched before
it: those join its support tasks, with the same names, so the same held-out images, class names,
templates and heads. A later step therefore cannot undo an earlier patch unnoticed: the sweep's
criterion limits their drop like any support task's, and with ``max_earlier_drop`` each of them on
its own too (``sweep.max_task_drop``). Steps after the first call their alpha = 0 "start" (the
previous step's patch), not "zero-shot". With ``evaluate_later: true`` (the default)
the tasks of later steps are watched (role ``transfer``) in earlier steps, so the final report has
every task's accuracy before any patching and after every step.

.. code-block:: bash

    paint sequential --config configs/multitask/sequential.yaml [--trainer.max_epochs=2 ...]

Each step runs in ``<output_dir>/step<k>-<name>/`` (its ``paint_report.json``, ``patched.safetensors``
and the step's config ``step.yaml``); ``<output_dir>/sequential_report.json`` and ``.txt`` hold the
final report. Running the command again skips the steps already done with the same config.

Every step's config is built and checked (:func:`check_chain`) before the first step starts; each
step then runs in a fresh Python process (:func:`~paint_lightning.commands.fit_step.run_fit`), so
nothing one step changes in its process (seeds, default dtype, logging) reaches the next. A failing
step ends the chain with an error naming it; the steps before it stay done.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from paint_lightning.commands.config import plain
from paint_lightning.commands.fit_step import parse_fit, run_fit
from paint_lightning.commands.paths import check_output_dir
from paint_lightning.errors import UserError
from paint_lightning.io.files import write_json, write_text
from paint_lightning.io.patched import WEIGHTS
from paint_lightning.workflows.chain import Chain, Step, load_chain
from paint_lightning.workflows.sequential_report import check_steps, final_report, report_text, step_text

DONE = "done.json"


def latest_run(step_dir: Path, since: float) -> Path:
    """The run folder under ``step_dir`` whose patched model was written last, after ``since``.

    Raises:
        RuntimeError: When the step wrote no patched model there.
    """
    found = [p for p in step_dir.rglob("patched.json") if p.stat().st_mtime >= since - 2]  # coarse clocks
    if not found:
        raise RuntimeError(
            f"no patched model was written under {step_dir}: each step's run must write its outputs there "
            "(trainer.default_root_dir, which the chain sets; leave trainer.logger's save_dir to it) with "
            "sweep.export: true."
        )
    return max(found, key=lambda p: p.stat().st_mtime).parent


def base_settings(chain: Chain, overrides: Sequence[str]) -> dict[str, Any]:
    """Support and transfer tasks and the model source of the shared config, parsed as ``paint fit`` does."""
    placeholder = {"data": {"patch": chain.steps[0].patch}}
    args = [item for path in chain.fit for item in ("--config", path)]
    args += ["--config", json.dumps(placeholder), *chain.args, *overrides]
    try:
        config = parse_fit(args)
    except argparse.ArgumentError as err:
        raise UserError(f"the chain's shared paint fit config ({', '.join(chain.fit)}): {err}", exit_code=2) from err
    data = config["data"]
    return {
        "support": plain(data.get("support") or []),
        "transfer": plain(data.get("transfer") or []),
        "clip": plain(config["model"]["clip"]),
        "export": bool(config["sweep"]["export"]),
        "criterion": str(config["sweep"]["criterion"]),
        "max_task_drop": plain(config["sweep"].get("max_task_drop") or {}),
    }


def check_earlier_limit(chain: Chain, base: dict[str, Any]) -> None:
    """Refuses ``max_earlier_drop`` with the ``mean`` criterion (which has no limits).

    Raises:
        ValueError: Naming the chain's field, the criterion and the fix.
    """
    if chain.max_earlier_drop is not None and base.get("criterion", "mean") == "mean":
        raise ValueError(
            f"max_earlier_drop={chain.max_earlier_drop:g} limits each earlier patch's drop, which needs "
            "sweep.criterion constrained or constrained_mean (the shared config's is mean): set the criterion "
            "and its sweep.max_support_drop, or drop max_earlier_drop."
        )


def step_config(
    chain: Chain, index: int, base: dict[str, Any], previous: Path | None, step_dir: Path
) -> dict[str, Any]:
    """The config that step ``index`` adds to the shared one.

    Steps after the first start from the previous export, call alpha = 0 "start"
    (``sweep.start_name``) and, with the chain's ``max_earlier_drop``, limit every earlier patch
    task's own drop (``sweep.max_task_drop``, beside the shared config's limits).

    Raises:
        ValueError: When a task of the chain has the name of a support or transfer task, or when
            ``max_earlier_drop`` comes with the ``mean`` criterion.
    """
    step = chain.steps[index]
    earlier = [task for s in chain.steps[:index] for task in s.patch]
    later = [task for s in chain.steps[index + 1 :] for task in s.patch] if chain.evaluate_later else []
    chain_names = {task["name"] for s in chain.steps for task in s.patch}
    for role in ("support", "transfer"):
        clash = sorted(chain_names & {task.get("name") or task.get("dataset") for task in base[role]})
        if clash:
            raise ValueError(
                f"tasks {clash} are patched by a step and are also data.{role} tasks of the shared config; a task has "
                "one role per step. Rename one of them or drop it from the shared config."
            )
    config: dict[str, Any] = {
        "trainer": {"default_root_dir": str(step_dir)},
        "data": {
            "patch": step.patch,
            "support": [*base["support"], *earlier],
            "transfer": [*base["transfer"], *later],
        },
    }
    if previous is not None:
        # The previous export brings the weights: whatever the first step started from (random_init too).
        config["model"] = {"clip": {**base["clip"], "pretrained": str(previous), "recipe": None, "random_init": None}}
    if index > 0:
        config["sweep"] = {"start_name": "start"}
        if chain.max_earlier_drop is not None:
            check_earlier_limit(chain, base)
            limits = {task["name"]: chain.max_earlier_drop for task in earlier}
            config["sweep"]["max_task_drop"] = {**base.get("max_task_drop", {}), **limits}
    return config


def step_folder(root: Path, chain: Chain, index: int) -> Path:
    """Where step ``index`` runs: ``<root>/step<k>-<name>``."""
    return root / f"step{index + 1}-{chain.steps[index].name}"


def step_name(chain: Chain, index: int) -> str:
    """The step as the console and errors name it: ``Step 2/3 (digits)``."""
    return f"Step {index + 1}/{len(chain.steps)} ({chain.steps[index].name})"


def step_args(chain: Chain, index: int, step_config_file: str, overrides: Sequence[str]) -> list[str]:
    """The arguments of step ``index``'s ``paint fit``: the shared configs, the step's, then the flags."""
    configs = [*chain.fit, step_config_file]
    flags = [*chain.args, *chain.steps[index].args, *overrides]
    return [item for path in configs for item in ("--config", path)] + flags


def check_chain(chain: Chain, base: dict[str, Any], root: Path, overrides: Sequence[str]) -> None:
    """Checks every step before the first one runs: its config is built and parsed as its ``paint fit`` would.

    A later step's model path is where the previous step's export will be (not read yet).

    Raises:
        ValueError: When tasks clash (see :func:`step_config`).
        UserError: When a step's ``paint fit`` would refuse its arguments, naming the step.
    """
    previous = None
    for index in range(len(chain.steps)):
        step_dir = step_folder(root, chain, index)
        config = step_config(chain, index, base, previous, step_dir)
        try:
            parse_fit(step_args(chain, index, json.dumps(config), overrides))
        except argparse.ArgumentError as err:
            raise UserError(f"{step_name(chain, index)}: {err}", exit_code=2) from err
        previous = step_dir / WEIGHTS


def run_step(
    chain: Chain,
    index: int,
    config: dict[str, Any],
    step_dir: Path,
    overrides: Sequence[str],
    earlier: Sequence[Path] = (),
) -> dict:
    """Runs one step in its own process (or reuses it when done with the same config); returns what the report needs.

    Args:
        chain: The chain.
        index: The step's index in ``chain.steps``.
        config: What the step adds to the shared config (:func:`step_config`).
        step_dir: The step's folder.
        overrides: ``paint fit`` flags for every step.
        earlier: The run folders of the steps before it (named when this one fails).
    """
    step: Step = chain.steps[index]
    step_dir.mkdir(parents=True, exist_ok=True)
    step_file = step_dir / "step.yaml"
    text = yaml.safe_dump(config, sort_keys=False)
    args = step_args(chain, index, str(step_file), overrides)
    command = " ".join(["paint fit", *args])
    done = step_dir / DONE
    if done.is_file():
        record = json.loads(done.read_text(encoding="utf-8"))
        if record.get("config") == text and record.get("command") == command:
            print(f"Step {index + 1} ({step.name}) already done: {record['run_dir']}")
            return record
    write_text(step_file, text)
    print(f"\n=== Step {index + 1}/{len(chain.steps)}: patching {', '.join(step.task_names)} ===\n{command}\n")
    started = time.time()
    run_fit(args, step_name(chain, index), earlier)
    run_dir = latest_run(step_dir, started)
    record = {"name": step.name, "patch": step.task_names, "run_dir": str(run_dir), "command": command, "config": text}
    write_json(done, record)
    return record


def run_chain(chain: Chain, overrides: Sequence[str] = (), output_dir: str | None = None) -> dict[str, Any]:
    """Runs every step of ``chain``, checks them, and writes the final report.

    Returns:
        The final report (see :func:`~paint_lightning.workflows.sequential_report.final_report`).
    """
    flag = "--output_dir" if output_dir else "output_dir (in the chain file)"
    root = check_output_dir(output_dir or chain.output_dir, flag)
    base = base_settings(chain, overrides)
    if not base["export"]:
        raise ValueError("sweep.export is false: sequential patching starts each step from the previous export.")
    check_earlier_limit(chain, base)
    check_chain(chain, base, root, overrides)
    records, previous = [], None
    for index in range(len(chain.steps)):
        step_dir = step_folder(root, chain, index)
        config = step_config(chain, index, base, previous, step_dir)
        earlier = [Path(r["run_dir"]) for r in records]
        records.append(run_step(chain, index, config, step_dir, overrides, earlier))
        previous = Path(records[-1]["run_dir"]) / WEIGHTS
        print(step_text(index, records[-1], [name for s in chain.steps[:index] for name in s.task_names]))
    checks = check_steps([Path(r["run_dir"]) for r in records])
    report = final_report(chain, records, checks)
    write_json(root / "sequential_report.json", report)
    text = report_text(report)
    write_text(root / "sequential_report.txt", text + "\n")
    print("\n" + text)
    return report


def sequential_main(argv: Sequence[str]) -> None:
    """``paint sequential --config CHAIN [--output_dir DIR] [paint fit flags for every step]``."""
    parser = argparse.ArgumentParser(
        prog="paint sequential",
        description="Patch several tasks one after another; each step starts from the previous patched model and "
        "protects the tasks patched before it. Other flags (e.g. --trainer.max_epochs=2) go to every step's paint fit.",
    )
    parser.add_argument("--config", required=True, help="the chain file (fit, output_dir, steps)")
    parser.add_argument("--output_dir", default=None, help="overrides the chain's output_dir")
    args, overrides = parser.parse_known_args(list(argv))
    try:
        chain = load_chain(args.config)
    except ValueError as err:
        parser.error(str(err))
    run_chain(chain, overrides, args.output_dir)
