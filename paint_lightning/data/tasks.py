"""Tasks: a data source plus the class names and prompt templates of its zero-shot head."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from paint_lightning.data.sources import ImageSource
from paint_lightning.data.templates import check_classnames, resolve_templates

Role = Literal["patch", "support"]
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class Task:
    """One classification task.

    Attributes:
        name: Identifier used in logs, reports and metric names (letters, digits, ``_``, ``-``).
        source: Where the images come from (an :class:`ImageSource`).
        classnames: Class names by label; defaults to the source's own.
        templates: Prompt templates (each with ``{}``) or a preset name (``simple``,
            ``openai_imagenet``, ``simple_imagenet``); defaults to the source's recommended
            templates, else ``simple``.
        heldout_from: Where the held-out images that choose alpha come from: ``train`` (a seeded
            part carved from the train split, the default) or ``val`` (the source's official
            validation split, for data sets that have one). Either way they never overlap the
            test split.
    """

    name: str
    source: ImageSource
    classnames: list[str] | None = None
    templates: list[str] | str | None = None
    heldout_from: Literal["train", "val"] = "train"


@dataclass(frozen=True)
class TaskSpec:
    """What the model needs to know about a task: plain data, safe to store in checkpoints."""

    name: str
    role: Role
    classnames: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {"name": self.name, "role": self.role, "classnames": self.classnames, "templates": self.templates}


def resolve_task(task: Task, role: Role, field_name: str) -> TaskSpec:
    """Validates ``task`` and resolves its class names and templates.

    Raises:
        ValueError: Naming ``field_name`` and the fix, for a bad name, class names or templates.
    """
    if not isinstance(task.name, str) or not _NAME.match(task.name):
        raise ValueError(
            f"{field_name}.name={task.name!r}: use letters, digits, '_' or '-' only (it names metrics and files)."
        )
    source_names = list(task.source.classnames)
    if task.classnames is not None:
        classnames = check_classnames(task.classnames, f"{field_name}.classnames")
        if len(classnames) != len(source_names):
            raise ValueError(
                f"{field_name}.classnames has {len(classnames)} names but the data set "
                f"{type(task.source).__name__} has {len(source_names)} classes; give one name per "
                "class label, in label order (or leave classnames out to use the data set's)."
            )
    else:
        classnames = check_classnames(source_names, f"{field_name}.source.classnames")
    if task.heldout_from not in ("train", "val"):
        raise ValueError(f"{field_name}.heldout_from={task.heldout_from!r}: use 'train' or 'val'.")
    if task.heldout_from == "val" and "val" not in task.source.splits:
        raise ValueError(
            f"{field_name}.heldout_from='val' but {type(task.source).__name__} has no official validation "
            f"split (it has {', '.join(task.source.splits)}); use heldout_from: train to carve one from the "
            "train split."
        )
    templates = task.templates
    if templates is None:
        templates = getattr(task.source, "templates", None) or "simple"
    return TaskSpec(task.name, role, classnames, resolve_templates(templates, f"{field_name}.templates"))
