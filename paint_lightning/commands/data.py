"""``paint data``: check that a config's data sets are on disk, download what torchvision can fetch.

.. code-block:: bash

    paint data check --config configs/paper/vit_b32/mnist.yaml     # per task: found/missing, counts
    paint data download --config configs/paper/vit_b32/mnist.yaml  # fetch what can be fetched, then check
    paint data list                                                # the registry

The config is parsed exactly as ``paint fit`` parses it (several ``--config`` files compose, and
``--data...`` overrides apply) but nothing is built except each task, one at a time, so a task
whose files are missing is reported instead of stopping the run; the model is never loaded.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

from paint_lightning.data.heldout import heldout_source_split, task_split
from paint_lightning.data.overlap import describe_overlap, find_overlaps
from paint_lightning.data.registry.catalog import REGISTRY, options_of
from paint_lightning.data.registry.missing import ChecksumError, DataNotFoundError, DownloadError
from paint_lightning.data.sources import ImageSource
from paint_lightning.data.tasks import Task, resolve_task

_OK, _MISSING, _BAD_MD5 = "[ok]     ", "[MISSING]", "[BAD MD5]"
_PAD = " " * 10


class _Parsed(Exception):
    def __init__(self, config: Any) -> None:
        super().__init__("parsed")
        self.config = config


def data_main(argv: Sequence[str]) -> None:
    """Runs ``paint data check|download|list``; exits 1 when a task's data is missing."""
    parser = argparse.ArgumentParser(prog="paint data", description="Check or download the data sets of a config.")
    actions = parser.add_subparsers(dest="action", required=True)
    for action, text in (
        ("check", "report every task's files"),
        ("download", "fetch what torchvision can, then check"),
    ):
        sub = actions.add_parser(action, help=text, description=f"{text.capitalize()}. Other --data.* flags override.")
        sub.add_argument("--config", action="append", required=True, help="config file (repeat to compose)")
        sub.add_argument("--verbose", action="store_true", help="list the image count of every class")
        sub.add_argument("--quick", action="store_true", help="skip checking that every listed image file exists")
    actions.add_parser("list", help="list the registry's data sets")
    args, overrides = parser.parse_known_args(list(argv))
    if args.action == "list":
        print(registry_table())
        return
    ok = run(args.action, args.config, overrides, verbose=args.verbose, quick=args.quick)
    if not ok:
        sys.exit(1)


def run(action: str, configs: Sequence[str], overrides: Sequence[str] = (), verbose: bool = False, quick: bool = False):
    """Checks (after downloading, for ``download``) every task of the composed configs; True if all are there.

    A task passes only if a run could use it: its splits are read, and divided into train and
    held-out images with the config's ``data.heldout_fraction``, ``heldout_max`` and ``split_seed``
    as ``paint fit`` divides them (no empty split).
    """
    data = _parse_data(configs, overrides)
    entries = _entries(data)
    settings = {key: data.get(key) for key in ("heldout_fraction", "heldout_max", "split_seed")}
    print(f"paint data {action}: {len(entries)} tasks from {' + '.join(configs)}\n")
    missing = 0
    for field, role, namespace in entries:
        task, error = _build(namespace)
        if action == "download" and task is not None:
            _download(task.name, task.source)
        lines, fine = check_task(task, error, role, field, verbose, quick, settings)
        missing += not fine
        print("\n".join(lines) + "\n")
    print(
        f"{len(entries) - missing} of {len(entries)} tasks have their data." if missing else "Every task has its data."
    )
    return missing == 0


def config_tasks(configs: Sequence[str], overrides: Sequence[str] = ()) -> list[tuple[str, str, Any]]:
    """``(field, role, task namespace)`` of every patch, support and transfer task, parsed as ``paint fit`` would."""
    return _entries(_parse_data(configs, overrides))


def _entries(data: Any) -> list[tuple[str, str, Any]]:
    return [
        (f"data.{role}[{i}]", role, namespace)
        for role in ("patch", "support", "transfer")
        for i, namespace in enumerate(data.get(role) or [])
    ]


def _parse_data(configs: Sequence[str], overrides: Sequence[str] = ()) -> Any:
    """The ``data`` section of the composed configs, parsed as ``paint fit`` would."""
    from paint_lightning.commands.cli import PaintCLI
    from paint_lightning.data import PaintDataModule
    from paint_lightning.models import PaintModule

    class ParseOnly(PaintCLI):
        def instantiate_classes(self) -> None:
            raise _Parsed(self.config)

    # The model is never built: a placeholder lets a data-only config parse (any config's own model wins).
    placeholder = ["--model.clip", '{"name": "not-used-by-paint-data"}']
    args = ["fit", *placeholder, *(item for config in configs for item in ("--config", config)), *overrides]
    argv, sys.argv = sys.argv, sys.argv[:1]  # LightningCLI warns when given args while sys.argv has some
    seed_log = logging.getLogger("lightning.fabric.utilities.seed")
    level = seed_log.level
    seed_log.setLevel(logging.WARNING)
    try:
        ParseOnly(PaintModule, PaintDataModule, seed_everything_default=0, args=args)
    except _Parsed as parsed:
        data = parsed.config["fit"]["data"]
    else:  # pragma: no cover - ParseOnly always raises
        raise AssertionError("the config was not parsed")
    finally:
        sys.argv = argv
        seed_log.setLevel(level)
    return data


def _build(namespace: Any) -> tuple[Task | None, str | None]:
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--task", type=Task)
    try:
        config = parser.parse_object({"task": namespace.as_dict() if hasattr(namespace, "as_dict") else namespace})
        instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes  # jsonargparse < 4.49
        return instantiate(config).task, None
    except Exception as err:
        return None, _unwrap(str(err))


def _download(name: str, source: ImageSource) -> None:
    if source.can_fetch():
        print(f"downloading {name} ({type(source).__name__}) ...", flush=True)
        try:
            source.fetch()
        except Exception as err:
            print(f"  download of {name} failed: {_message(err) if isinstance(err, DataNotFoundError) else err}")
    else:
        print(f"{name}: cannot be downloaded automatically; see below.")


def check_task(
    task: Task | None,
    error: str | None,
    role: str,
    field: str,
    verbose: bool = False,
    quick: bool = False,
    settings: dict[str, Any] | None = None,
) -> tuple[list[str], bool]:
    """Report lines for one task, and whether its data is all there.

    With ``settings`` (``heldout_fraction``, ``heldout_max``, ``split_seed``), the task's splits are also
    divided as a run divides them (:func:`~paint_lightning.data.heldout.task_split`), so an empty or
    too small split fails here as it would fail ``paint fit``.
    """
    if task is None:
        return [f"{_MISSING} {field} ({role}): the task cannot be built", f"{_PAD}{error}"], False
    source = task.source
    assert source is not None
    lines = [f"{{status}} {task.name} ({field}, {role}): {_what(task)}"]
    problems: list[tuple[str, str]] = []  # (split, or "" for the task; message)
    corrupt = False  # files there but failing torchvision's MD5 check
    download_failed = False
    try:
        spec = resolve_task(task, role, field)  # type: ignore[arg-type]
        classnames = spec.classnames
    except Exception as err:
        problems.append(("", _message(err)))
        classnames = []
    for split in source.splits:
        try:
            dataset = source.dataset(split, None)
            labels = source.labels(split)
        except Exception as err:
            problems.append((split, _message(err)))
            corrupt = corrupt or isinstance(err, ChecksumError)
            download_failed = download_failed or isinstance(err, DownloadError)
            continue
        samples = getattr(dataset, "samples", None)
        paths = [str(s[0]) for s in samples] if isinstance(samples, list) and samples and len(samples[0]) == 2 else []
        lines.append(f"{_PAD}{split + ':':6} {len(dataset):,} images{_class_counts(labels, classnames, verbose)}")
        absent = [] if quick else [p for p in paths if not _exists(p)]
        if absent:
            problems.append((split, f"{len(absent):,} listed image files are missing (first: {absent[0]})"))
    if settings is not None and not problems:
        try:
            task_split(task, field, settings["heldout_fraction"], settings["heldout_max"], settings["split_seed"])
        except ValueError as err:
            problems.append(("", _message(err)))
    try:  # the check a run makes (paint_lightning.data.overlap); an unreadable split is reported above
        overlaps = find_overlaps(source, heldout_source_split(task), role)
    except Exception:
        overlaps = []
    problems += [("", describe_overlap(overlap, heldout_source_split(task), role)) for overlap in overlaps]
    if problems:
        lines += [f"{_PAD}problem: {p}" for p in _merged(problems)]
        layout, how = source.layout(), source.obtain()
        if layout:
            lines += [f"{_PAD}expected layout:", *(f"{_PAD}  {line}" for line in layout.splitlines())]
        if how:
            lines += [f"{_PAD}how to get it: {how.splitlines()[0]}", *(f"{_PAD}  {x}" for x in how.splitlines()[1:])]
        if download_failed:
            lines.append(f"{_PAD}  -> the download failed: place the files by hand as laid out above, then check again")
        elif source.can_fetch():
            lines.append(f"{_PAD}  -> `paint data download` with the same --config fetches it (or set download: true)")
    lines[0] = lines[0].format(status=(_BAD_MD5 if corrupt else _MISSING) if problems else _OK)
    return lines, not problems


def registry_table() -> str:
    """The registry as a text table: key, classes, splits, download, options."""
    rows = [("dataset", "classes", "splits", "download", "folder", "options")]
    for key, cls in REGISTRY.items():
        source = cls(root="<root>")
        count = "from folders" if key == "mtsd" else str(len(source.classnames))
        download = "yes" if cls.downloadable else "manual"
        rows.append((key, count, "/".join(source.splits), download, cls.folder, ", ".join(options_of(key)) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


def _what(task: Task) -> str:
    source = task.source
    if task.dataset is not None:
        return f"dataset {task.dataset} in {getattr(source, 'data_dir', None) if source.root else '<no root>'}"  # type: ignore[union-attr]
    described = source.describe() if source is not None else {}
    return ", ".join(f"{k}={v}" for k, v in described.items())


def _unwrap(message: str) -> str:
    """The source's own error out of jsonargparse's 'Does not validate against any of the Union subtypes'."""
    if "Union subtypes" in message and "Errors:" in message:
        errors = [
            line.strip()[2:] for line in message.split("Errors:", 1)[1].splitlines() if line.strip().startswith("- ")
        ]
        useful = [e for e in errors if not e.startswith("Expected a <class 'NoneType'>")]
        if useful:
            return useful[0]
    return message.strip()


def _merged(problems: list[tuple[str, str]]) -> list[str]:
    """One line per distinct message, prefixed by the splits that gave it (none if the task as a whole did)."""
    splits: dict[str, list[str]] = {}
    for split, message in problems:
        splits.setdefault(message, []).append(split)
    return [message if "" in where else f"{', '.join(where)}: {message}" for message, where in splits.items()]


def _message(err: Exception) -> str:
    return err.what if isinstance(err, DataNotFoundError) else str(err).splitlines()[0]


def _class_counts(labels: list[int] | None, classnames: list[str], verbose: bool) -> str:
    if labels is None:
        return " (per-class counts not available for this source)"
    counts = Counter(labels)
    total = len(classnames) or (max(labels) + 1 if labels else 0)
    text = f", {len(counts)}/{total} classes"
    if counts:
        text += f" ({min(counts.values()):,} to {max(counts.values()):,} per class)"
    empty = [classnames[i] if i < len(classnames) else str(i) for i in range(total) if i not in counts]
    if empty and len(empty) <= 10:
        text += f"; no images of {empty}"
    if verbose or total <= 12:
        names = classnames or [str(i) for i in range(total)]
        text += "\n" + "\n".join(f"{_PAD}  {names[i]}: {counts.get(i, 0):,}" for i in range(total))
    return text


def _exists(path: str) -> bool:
    import os

    return os.path.isfile(path)
