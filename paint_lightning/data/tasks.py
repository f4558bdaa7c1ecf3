"""Tasks: a data source plus the class names and prompt templates of its zero-shot head."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from paint_lightning.data.sources import ImageSource
from paint_lightning.data.templates import check_classnames, resolve_templates

Role = Literal["patch", "support", "transfer"]
"""What a task is for: fine-tuned on (``patch``), protected (``support``), or only watched (``transfer``)."""
ROLES: tuple[Role, ...] = ("patch", "support", "transfer")
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class Task:
    """One classification task: a registry data set (short form) or any :class:`ImageSource`.

    Short form, one line in YAML: ``- {dataset: mnist, root: ~/data}`` builds the registry's
    source (see ``docs/datasets.md``); ``name`` defaults to the data set's key. Long form:
    ``source: {class_path: ..., init_args: {...}}``. Give one of ``dataset`` and ``source``.

    Attributes:
        name: Identifier used in logs, reports and metric names (letters, digits, ``_``, ``-``);
            defaults to ``dataset``.
        source: Where the images come from (an :class:`ImageSource`); built from ``dataset`` in the
            short form.
        dataset: A registry data set (``cars``, ``mnist``, ``imagenet``...; short form).
        root: Data root holding the registry data set's folder (short form); default: the
            ``PAINT_DATA_ROOT`` environment variable. ``~`` and ``$VARIABLES`` are expanded.
        download: Download the registry data set on first use when missing (short form;
            torchvision data sets only).
        options: Per-data-set options of the registry source (short form), e.g.
            ``{partition: 2}`` for ``sun397`` or ``{split: seeded}`` for ``resisc45``.
        classnames: Class names by label; defaults to the source's own.
        templates: Prompt templates (each with ``{}``) or a preset name (``simple``,
            ``openai_imagenet``, ``simple_imagenet``); defaults to the source's recommended
            templates, else ``simple``.
        heldout_from: Where the held-out images that choose alpha come from: ``train`` (a seeded
            part carved from the train split, the default) or ``val`` (the source's official
            validation split, for data sets that have one). Either way they never overlap the
            test split.
    """

    name: str | None = None
    source: ImageSource | None = None
    classnames: list[str] | None = None
    templates: list[str] | str | None = None
    heldout_from: Literal["train", "val"] = "train"
    dataset: str | None = None
    root: str | None = None
    download: bool = False
    options: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.dataset is not None:
            if self.source is not None:
                raise ValueError(
                    f"task {self.name or self.dataset!r}: give either dataset={self.dataset!r} (a registry data set) "
                    "or source (any ImageSource), not both."
                )
            from paint_lightning.data.registry.catalog import build_source  # the registry imports this package

            field = f"task {self.name or self.dataset!r}"
            self.source = build_source(self.dataset, self.root, self.download, self.options, field)
            if self.name is None:
                self.name = self.dataset
        elif self.source is None:
            raise ValueError(
                f"task {self.name!r}: no data. Give dataset: <registry key> (e.g. dataset: mnist, see "
                "docs/datasets.md) or source: {class_path: ..., init_args: ...}."
            )
        elif any(value is not None for value in (self.root, self.options)) or self.download:
            raise ValueError(
                f"task {self.name!r}: root, download and options belong to the short form (dataset: ...); with "
                "source, give them in source.init_args."
            )


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
    assert task.source is not None  # set in Task.__post_init__
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
    elif getattr(task.source, "duplicate_classnames", False):
        # A registry list that names two classes alike on purpose (ImageNet's standard CLIP names).
        classnames = list(source_names)
        if not classnames or any(not isinstance(n, str) or not n.strip() for n in classnames):
            raise ValueError(f"{field_name}: the data set's stored class names are empty or blank.")
    else:
        classnames = check_classnames(source_names, f"{field_name}.source.classnames")
    if "train" not in task.source.splits and role != "transfer":
        raise ValueError(test_only_message(task, role, field_name))
    if task.heldout_from not in ("train", "val"):
        raise ValueError(f"{field_name}.heldout_from={task.heldout_from!r}: use 'train' or 'val'.")
    if task.heldout_from == "val" and "val" not in task.source.splits:
        raise ValueError(
            f"{field_name}.heldout_from='val' but {type(task.source).__name__} has no official validation "
            f"split (it has {', '.join(task.source.splits)}); "
            + (
                "use heldout_from: train to carve one from the train split."
                if "train" in task.source.splits
                else "leave heldout_from out: a test-only transfer task's held-out images sample its test split."
            )
        )
    if task.dataset is not None and getattr(task.source, "root", "") is None:
        raise ValueError(
            f"{field_name}.root is not set and neither is the PAINT_DATA_ROOT environment variable: point one of them "
            f"at the folder holding your data sets (dataset {task.dataset!r} lies in a sub-folder of it)."
        )
    templates = task.templates
    if templates is None:
        templates = getattr(task.source, "templates", None) or "simple"
    return TaskSpec(task.name, role, classnames, resolve_templates(templates, f"{field_name}.templates"))


def test_only_message(task: Task, role: Role, field_name: str) -> str:
    """Why a source without a train split cannot have ``role`` (patch or support), and what to do instead."""
    what = f"dataset {task.dataset!r}" if task.dataset is not None else type(task.source).__name__
    why = (
        "there is nothing to fine-tune on"
        if role == "patch"
        else "a support task's held-out images choose alpha, and they could only come from the test split the final "
        "report measures"
    )
    return (
        f"{field_name}: {what} has only a test split (splits: {', '.join(task.source.splits)}), so it cannot be a "
        f"{role} task: {why}. Watch it as a transfer task instead (data.transfer: [{{dataset: ...}}]: evaluated at "
        "every alpha and reported, never trained on, never choosing alpha)."
    )


def resolve_tasks(fields: list[tuple[str, Role, Task]]) -> list[TaskSpec]:
    """:func:`resolve_task` for every ``(field, role, task)``; task names must be unique across roles.

    Raises:
        ValueError: For a bad task (see :func:`resolve_task`) or a name used twice.
    """
    specs = [resolve_task(task, role, field) for field, role, task in fields]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"task names {duplicates} are used twice in data.patch/data.support/data.transfer; names must be "
            "unique (a task has one role per run)."
        )
    return specs
