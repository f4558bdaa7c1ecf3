"""Argument parsing shared by the commands that run without a Trainer.

Each command has a jsonargparse parser (``--config`` YAML files compose, ``--section.key value``
overrides them, ``--print_config`` shows the result). Commands that read a run's data take the
same ``model:``, ``data:`` and ``sweep:`` sections as ``paint fit``, so a fit config works as it
is: its other sections (``trainer:``, ``optimizer:``...) are accepted and ignored.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser, DefaultHelpFormatter, Namespace

from paint_lightning.commands.failures import UserError, config_phase
from paint_lightning.composition import compose_as_written

# Sections of a `paint fit` config that commands without a Trainer accept and ignore.
FIT_ONLY = ("trainer", "seed_everything", "optimizer", "lr_scheduler", "ckpt_path", "preemption", "dashboard")


class _HelpFormatter(DefaultHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """jsonargparse's help, with the description's examples kept as written."""


def new_parser(command: str, doc: str) -> ArgumentParser:
    """A parser for ``paint <command>`` with ``--config`` (errors come back as exceptions).

    Args:
        command: The command's name.
        doc: Its module docstring: the first paragraph and the first code block make the description.
    """
    parser = ArgumentParser(
        prog=f"paint {command}", description=describe(doc), exit_on_error=False, formatter_class=_HelpFormatter
    )
    parser.add_argument("--config", action=ActionConfigFile, help="YAML config file(s); later ones and flags override.")
    return parser


def describe(doc: str) -> str:
    """The first paragraph of a docstring (reST markup dropped) and its first code block."""
    paragraphs = doc.strip().split("\n\n")
    first = paragraphs[0].replace("``", "")
    block = next((p for p in paragraphs[1:] if p.startswith("    ")), "")
    return f"{first}\n\nexamples:\n{block}" if block else first


def add_fit_sections(parser: ArgumentParser, model: bool = True, data: bool = True, sweep: bool = True) -> None:
    """Adds the ``model``, ``data`` and ``sweep`` sections of a ``paint fit`` config (others ignored)."""
    from paint_lightning.callbacks.interpolation_sweep import InterpolationSweep
    from paint_lightning.data import PaintDataModule
    from paint_lightning.models import PaintModule

    if model:
        parser.add_class_arguments(PaintModule, "model", skip={"tasks"}, instantiate=False)
    if data:
        parser.add_class_arguments(PaintDataModule, "data")
    if sweep:
        parser.add_class_arguments(InterpolationSweep, "sweep", instantiate=False)
    for key in FIT_ONLY if model else (*FIT_ONLY, "model"):
        parser.add_argument(f"--{key}", type=Any, default=None, help=argparse.SUPPRESS)


def parse(parser: ArgumentParser, argv: Sequence[str], command: str) -> tuple[Namespace, Namespace]:
    """``(parsed, instantiated)``; a bad argument or config value is a user error with exit status 2."""
    compose_as_written(parser)
    with config_phase():
        try:
            config = parser.parse_args(list(argv))
        except argparse.ArgumentError as err:
            raise UserError(f"{err}\n(paint {command} --help lists the options)", exit_code=2) from err
        return config, parser.instantiate_classes(config)


def sweep_settings(sweep: Namespace | dict[str, Any] | None) -> Any:
    """The :class:`~paint_lightning.engine.SweepSettings` of a ``sweep:`` section, and its chunk size in bytes."""
    from paint_lightning.engine.sweep_settings import SweepSettings

    values = dict(sweep or {})
    settings = {
        key: values[key]
        for key in (
            "criterion",
            "max_support_drop",
            "max_task_drop",
            "start_name",
            "search",
            "resolution",
            "allow_extrapolation",
        )
        if key in values
    }
    if values.get("alphas") is not None:
        settings["alphas"] = tuple(values["alphas"])
    chunk_mb = int(values.get("chunk_mb") or 512)
    if chunk_mb < 1:
        raise ValueError(f"sweep.chunk_mb={chunk_mb}: must be at least 1 (MiB of device memory).")
    return SweepSettings(**settings), chunk_mb * 2**20


def model_kwargs(model: Namespace | dict[str, Any] | None) -> dict[str, Any]:
    """The ``model:`` section as keyword arguments of :class:`~paint_lightning.PaintModule` (plain data)."""
    values = plain(model or {})
    values.pop("tasks", None)
    return values


def plain(value: Any) -> Any:
    """A parsed jsonargparse value as plain data (to pass as keyword arguments or to write as YAML).

    Namespaces and dataclasses become dicts, without jsonargparse's ``__path__``-like keys; tuples
    become lists; everything else is kept as it is.
    """
    if isinstance(value, Namespace):
        value = value.as_dict()
    elif is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items() if not str(key).startswith("__")}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value
