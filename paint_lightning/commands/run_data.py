"""A run's recorded data against the config's: refuse to choose coefficients on held-out sets it trained on.

``paint fit`` records in each checkpoint what the data was (split settings, and per task
fingerprints of its train, held-out and test images: :mod:`paint_lightning.data.provenance`).
``paint parallel`` and ``paint sweep`` carve held-out sets from the config's settings; a run made
with another ``split_seed``, ``heldout_fraction``, ``heldout_max``, other task data or another
task name (held-out images are chosen by task name) would be judged on images it was trained
on, biasing the coefficients towards it. The comparison is :func:`describe_changes`, the one
``paint validate`` uses, without the tasks' roles: a run's support task may be a patch task of
the combination, which does not change its held-out images.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paint_lightning.commands.console import write_line
from paint_lightning.commands.failures import UserError
from paint_lightning.data.provenance import describe_changes, task_provenance

SPLIT_SETTINGS = ("split_seed", "heldout_fraction", "heldout_max")


def data_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between a run's provenance and the config's, roles aside, plus renamed patch tasks."""
    return describe_changes(_without_roles(saved), _without_roles(current)) + renamed_tasks(saved, current)


def renamed_tasks(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Patch tasks of the run whose train images a task of another name reads here (held-out carved by name)."""
    now = current.get("tasks", {})
    found = []
    for name, old in saved.get("tasks", {}).items():
        if name in now or old.get("role") != "patch" or old.get("heldout_from") != "train" or "train" not in old:
            continue
        for other, new in now.items():
            if new.get("train") == old["train"] and new.get("heldout_from") == "train":
                found.append(
                    f"task {name!r} is named {other!r} here (the same train images), and held-out images are chosen "
                    f"by task name: name it {name!r}"
                )
    return found


def check_run_data(saved: Mapping[str, Any] | None, datamodule: Any, field: str, path: str) -> None:
    """Refuses a run whose recorded data differs from the config's; warns when it records none.

    Args:
        saved: The run's provenance (``None``: a plain state dict or a checkpoint without one).
        datamodule: The config's :class:`~paint_lightning.PaintDataModule` (its ``provenance()``).
        field: The flag that gave the run, e.g. ``--runs[1]``.
        path: What the flag said.

    Raises:
        UserError: Naming the run, every difference and the settings to give.
    """
    if saved is None:
        write_line(
            f"Warning: {field}={path!r} records no data provenance (not a checkpoint of a `paint fit` run), so "
            "whether the config's held-out images were kept out of its training cannot be checked; make sure they "
            "were, or the chosen coefficients favour it."
        )
        return
    changes = data_changes(saved, datamodule.provenance())
    if not changes:
        return
    settings = " ".join(f"--data.{key} {saved[key]}" for key in SPLIT_SETTINGS if key in saved)
    raise UserError(
        f'{field}={path!r} was made from other data than the config gives: {"; ".join(changes)} ("in the '
        'checkpoint" is the run, "now" the config). The held-out sets that choose the coefficients are carved by '
        "the config's settings, so they could hold images the run was trained on. Give the settings the run was "
        f"made with ({settings}, and its tasks' data and names as in its config.yaml), or a run made with this "
        "config's data.",
        exit_code=2,
    )


def check_task_split(saved: Mapping[str, Any] | None, task: Any, split: str, field: str, path: str) -> None:
    """Refuses a task split that differs from the one a run recorded under the task's name.

    Only ``train`` and ``test`` are recorded whole; a task the run does not know is not checked.

    Raises:
        UserError: Naming the task, the split, the run and the fix.
    """
    old = (saved or {}).get("tasks", {}).get(task.name) if task.name else None
    if old is None or split not in old or split not in ("train", "test"):
        return
    now = task_provenance(task.source, old.get("role", "patch"), old.get("heldout_from", "train"), [], (split,))
    changes = describe_changes({"tasks": {task.name: old}}, {"tasks": {task.name: now}})
    if changes:
        raise UserError(
            f"--task (task {task.name!r}, --split {split}) reads other images than the run {field}={path!r} recorded "
            f"for that task: {'; '.join(changes)}. Its accuracy would not be the run's. Point --task at the data the "
            "run was made from, or give the task another name (name: ...) to classify other images.",
            exit_code=2,
        )


def _without_roles(provenance: Mapping[str, Any]) -> dict[str, Any]:
    tasks = {name: {k: v for k, v in task.items() if k != "role"} for name, task in provenance.get("tasks", {}).items()}
    return {**provenance, "tasks": tasks}
