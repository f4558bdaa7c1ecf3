"""Checkpoints of the module: older key names, and refusing heads made for other tasks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paint_lightning.data.tasks import TaskSpec

_RENAMED = {"zero_shot_visual.": "start_point.tower."}  # before the start point kept its precision


class TaskMismatchError(ValueError):
    """A checkpoint made for other tasks (class names, templates or roles) than the config's."""


def migrate_state_dict(state: dict[str, Any]) -> dict[str, Any]:
    """Renames keys of older checkpoints to the current names."""
    out = {}
    for key, value in state.items():
        for old, new in _RENAMED.items():
            if key.startswith(old):
                key = new + key[len(old) :]
        out[key] = value
    return out


def check_task_specs(saved: Sequence[TaskSpec], current: Sequence[TaskSpec]) -> None:
    """Refuses a checkpoint whose tasks differ from the current ones of the same name.

    Heads, zero-shot counts and alpha* stored in a checkpoint were computed for its tasks; reusing
    them for a task whose class names, templates or role changed would give wrong numbers with
    no error. Tasks only in the checkpoint or only in the config are fine (a new task gets a new
    head).

    Raises:
        TaskMismatchError: Naming every task and what changed, and what to do.
    """
    now = {spec.name: spec for spec in current}
    changes = []
    for old in saved:
        new = now.get(old.name)
        if new is None:
            continue
        what = []
        if old.role != new.role:
            what.append(f"role {old.role} -> {new.role}")
        if list(old.classnames) != list(new.classnames):
            what.append(_list_change("class names", old.classnames, new.classnames))
        if list(old.templates) != list(new.templates):
            what.append(_list_change("templates", old.templates, new.templates))
        if what:
            changes.append(f"task {old.name!r}: " + "; ".join(what))
    if changes:
        raise TaskMismatchError(
            "The checkpoint was made for other tasks than this config's: "
            + " | ".join(changes)
            + ". Its heads, zero-shot accuracies and alpha* belong to the tasks it was trained with. Restore "
            "the task settings of that run (data.patch / data.support), give a changed task a new name (it "
            "then gets a fresh head), or start a new run without --ckpt_path."
        )


def _list_change(what: str, old: Sequence[str], new: Sequence[str]) -> str:
    if len(old) != len(new):
        return f"{what}: {len(old)} in the checkpoint, {len(new)} now"
    first = next(i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b)
    return f"{what} differ from position {first} ({old[first]!r} in the checkpoint, {new[first]!r} now)"
