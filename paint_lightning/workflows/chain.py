"""A sequential-patching chain: the ``paint fit`` config every step shares, and the steps.

.. code-block:: yaml

    # paint sequential --config configs/multitask/sequential.yaml
    fit: world.yaml             # paint fit config(s) of every step (relative to this file): model,
                                # trainer, sweep, data settings, support and transfer tasks
    output_dir: runs/sequential # one folder per step (relative to the working directory)
    evaluate_later: true        # later steps' patch tasks are watched (role transfer) in earlier steps
    max_earlier_drop: 1.0       # optional: points each earlier patch may drop on its own in a later
                                # step (sweep.max_task_drop; constrained criteria); default: none
    args: []                    # extra paint fit flags for every step
    steps:
      - patch: [{name: digits, source: {class_path: paint_lightning.world.HandwrittenDigits}}]
      - patch: [{name: positions, source: {class_path: paint_lightning.world.WorldPositions}}]
        args: [--model.lr=1.0e-4]   # this step only

Tasks are written exactly as in ``data.patch`` of a ``paint fit`` config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_KEYS = {"fit", "output_dir", "evaluate_later", "max_earlier_drop", "args", "steps"}
_STEP_KEYS = {"name", "patch", "args"}
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Step:
    """One step of a chain: the tasks it patches and extra ``paint fit`` flags."""

    name: str
    patch: list[dict[str, Any]]
    args: list[str] = field(default_factory=list)

    @property
    def task_names(self) -> list[str]:
        """Names of the tasks this step patches."""
        return [task["name"] for task in self.patch]


@dataclass(frozen=True)
class Chain:
    """A parsed chain file (see the module docstring)."""

    fit: list[str]
    output_dir: str
    steps: list[Step]
    evaluate_later: bool = True
    args: list[str] = field(default_factory=list)
    max_earlier_drop: float | None = None


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where}={value!r}: give a string or a list of strings.")
    return list(value)


def _task_name(task: Any, where: str) -> str:
    if not isinstance(task, dict):
        raise ValueError(f"{where}={task!r}: give a task as in data.patch (name, source or dataset, ...).")
    name = task.get("name", task.get("dataset"))
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{where}.name={name!r}: every task of a chain needs a name (letters, digits, '_' or '-'); the name "
            "says which earlier task a later step protects."
        )
    return name


def parse_chain(data: Any, base_dir: Path, where: str = "chain") -> Chain:
    """Validates a chain's plain data; ``fit`` paths are resolved against ``base_dir``.

    Raises:
        ValueError: Naming the field, the value and the fix.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where}: the file must hold a mapping with fit, output_dir and steps.")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; a chain has {sorted(_KEYS)}.")
    fit = _strings(data.get("fit"), f"{where}.fit")
    if not fit:
        raise ValueError(f"{where}.fit is missing: name the paint fit config(s) every step shares.")
    paths = []
    for item in fit:
        path = Path(item).expanduser()
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise ValueError(f"{where}.fit: {item!r} not found (looked for {path}); paths are relative to the chain.")
        paths.append(str(path))
    steps_data = data.get("steps")
    if not isinstance(steps_data, list) or len(steps_data) < 2:
        raise ValueError(f"{where}.steps: give a list of at least two steps, each with patch: [tasks].")
    steps, seen = [], set()
    for i, step in enumerate(steps_data):
        field_name = f"{where}.steps[{i}]"
        if not isinstance(step, dict) or not step.get("patch"):
            raise ValueError(f"{field_name}: give patch: [tasks] (as in data.patch of a paint fit config).")
        unknown = sorted(set(step) - _STEP_KEYS)
        if unknown:
            raise ValueError(f"{field_name}: unknown keys {unknown}; a step has {sorted(_STEP_KEYS)}.")
        patch = step["patch"] if isinstance(step["patch"], list) else [step["patch"]]
        names = [_task_name(task, f"{field_name}.patch[{j}]") for j, task in enumerate(patch)]
        for name in names:
            if name in seen:
                raise ValueError(f"{field_name}: task {name!r} is patched by an earlier step too; patch a task once.")
            seen.add(name)
        tasks = [{**task, "name": name} for task, name in zip(patch, names, strict=True)]
        step_name = step.get("name", "+".join(names))
        if not isinstance(step_name, str) or not _NAME.match(step_name.replace("+", "_")):
            raise ValueError(f"{field_name}.name={step_name!r}: use letters, digits, '_', '-' or '+'.")
        steps.append(Step(step_name, tasks, _strings(step.get("args"), f"{field_name}.args")))
    evaluate_later = data.get("evaluate_later", True)
    if not isinstance(evaluate_later, bool):
        raise ValueError(f"{where}.evaluate_later={evaluate_later!r}: use true or false.")
    output_dir = data.get("output_dir", "sequential")
    if not isinstance(output_dir, str) or not output_dir:
        raise ValueError(f"{where}.output_dir={output_dir!r}: give a folder for the steps' runs.")
    limit = data.get("max_earlier_drop")
    number = isinstance(limit, (int, float)) and not isinstance(limit, bool)
    if limit is not None and (not number or not 0 <= limit < float("inf")):
        raise ValueError(
            f"{where}.max_earlier_drop={limit!r}: give the points each earlier patch may drop on its own in a later "
            "step, e.g. 1.0 (or leave it out: earlier patches are then limited only as support tasks)."
        )
    args = _strings(data.get("args"), f"{where}.args")
    return Chain(paths, output_dir, steps, evaluate_later, args, None if limit is None else float(limit))


def load_chain(path: str | Path) -> Chain:
    """Reads and validates a chain file.

    Raises:
        ValueError: When the file is missing or malformed, naming the field.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--config {str(path)!r}: file not found.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ValueError(f"--config {str(path)!r}: not valid YAML ({err}).") from err
    return parse_chain(data, path.resolve().parent, where=path.name)
