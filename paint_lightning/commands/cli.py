"""The ``paint`` command: LightningCLI's fit/validate/test, and commands that use models without training.

``fit``, ``validate`` and ``test`` run LightningCLI over PaintModule and PaintDataModule; predict,
export, sweep and parallel use or make a model without training; data and pretrain prepare a run.

``paint --help`` lists them all. Every command runs inside a quiet console
(:mod:`paint_lightning.commands.console`) and ends a user's mistake with one line and exit status 1
or 2 (:mod:`paint_lightning.commands.failures`); ``--traceback`` or ``PAINT_TRACEBACK=1`` shows the
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_info

from paint_lightning.callbacks import InterpolationSweep, PreemptionCheckpoint
from paint_lightning.callbacks.dashboard import LoggerDashboard
from paint_lightning.callbacks.progress import PaintProgressBar
from paint_lightning.commands.console import quiet_console
from paint_lightning.commands.failures import UserError, config_phase, guarded, wants_traceback
from paint_lightning.commands.paths import check_output_dir
from paint_lightning.composition import compose_as_written
from paint_lightning.data import PaintDataModule, TaskSpec
from paint_lightning.io.shipped import resolve_config_args
from paint_lightning.models import PaintModule
from paint_lightning.models.clip_source import checkpoint_path, looks_like_path
from paint_lightning.models.distributed_checkpoint import read_folder_checkpoints


class PaintCLI(LightningCLI):
    """LightningCLI with the interpolation sweep (``sweep:``) and SIGTERM checkpoints always on."""

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """``fit``, ``validate`` and ``test``; ``paint predict`` is the project's own command."""
        commands = dict(LightningCLI.subcommands())
        commands.pop("predict", None)
        return commands

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parses ``args`` (``main`` always passes the command line, minus its own flags).

        A later ``--config`` or flag replaces a list whole (``key+:`` appends) and merges into a
        mapping key by key (see :mod:`paint_lightning.composition`).
        """
        compose_as_written(parser)
        if isinstance(args, list):
            self.config = parser.parse_args(args)
        else:
            super().parse_arguments(parser, args)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Adds ``sweep``, ``preemption``, ``dashboard`` and the project's trainer defaults."""
        parser.add_lightning_class_args(InterpolationSweep, "sweep")
        parser.add_lightning_class_args(PreemptionCheckpoint, "preemption")
        parser.add_lightning_class_args(LoggerDashboard, "dashboard")
        parser.set_defaults({"trainer.gradient_clip_val": 1.0})
        # Gives the model its task specs; also makes the DataModule (cheap, validates the tasks)
        # be built before the model (which may download weights).
        parser.link_arguments("data.specs", "model.tasks", compute_fn=_spec_dicts, apply_on="instantiate")

    def _prepare_subcommand_parser(self, klass: type, subcommand: str, **kwargs: Any) -> LightningArgumentParser:
        parser = super()._prepare_subcommand_parser(klass, subcommand, **kwargs)
        if subcommand in ("validate", "test"):
            parser.set_defaults(verbose=False)  # the sweep prints its line and table; no metrics dump
        return parser

    def before_instantiate_classes(self) -> None:
        """Fills defaults that depend on the machine, and builds a missing recipe checkpoint.

        ``trainer.precision`` left unset means bf16-mixed on a bf16-capable GPU, else 32-true. A
        ``model.clip.pretrained`` file that is missing but has a ``model.clip.recipe`` is built by
        running that recipe (``paint pretrain``) first, once, under a file lock.
        """
        config = self.config[self.subcommand] if self.subcommand else self.config
        if config.trainer.precision is None:
            config.trainer.precision = default_precision(config.trainer.accelerator)
        if config.trainer.get("default_root_dir") is not None:  # a folder that cannot be made fails now
            check_output_dir(config.trainer.default_root_dir, "--trainer.default_root_dir")
        build_missing_checkpoint(config.model.clip)

    def instantiate_classes(self) -> None:
        """Builds the DataModule, model and trainer; a failure here is a mistake in the config."""
        with config_phase():
            super().instantiate_classes()

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Callback]) -> Trainer:
        # The project's progress bar, first so that it closes an epoch's bar before the sweep prints.
        given = config.get("callbacks") or []
        given = given if isinstance(given, list) else [given]
        if config.get("enable_progress_bar") is not False and not any(
            isinstance(c, ProgressBar) for c in [*given, *callbacks]
        ):
            config["callbacks"] = [PaintProgressBar(), *given]
        if config.get("logger") in (None, True):  # Lightning's default logger, without `hp_metric = -1`
            config["logger"] = default_logger(config.get("default_root_dir"))
        return super()._instantiate_trainer(config, callbacks)

    def before_fit(self) -> None:
        """Says what is being built; checkpoints are read with ``weights_only=True`` by default."""
        self._weights_only_default("fit")
        rank_zero_info(describe_run(self.model, self.datamodule, self.trainer))

    def before_validate(self) -> None:
        """See :meth:`before_fit`."""
        self._weights_only_default("validate")

    def before_test(self) -> None:
        """See :meth:`before_fit`."""
        self._weights_only_default("test")

    def _weights_only_default(self, subcommand: str) -> None:
        config = self.config_init[subcommand] if self.subcommand else self.config_init
        if "weights_only" in config and config["weights_only"] is None:
            config["weights_only"] = True
        read_folder_checkpoints(self.trainer.strategy, config.get("ckpt_path"), subcommand)  # distributed ones


def describe_run(model: Any, datamodule: Any, trainer: Trainer) -> str:
    """Three lines: the model, the tasks, and how it will be trained and swept."""
    quick = getattr(model, "model_cfg", {}).get("quick_gelu", False)
    what = getattr(model, "clip_origin", "") or "the model"  # where its weights came from (models.named)
    specs = datamodule.task_specs() if callable(getattr(datamodule, "task_specs", None)) else []
    tasks = "; ".join(f"{s.name} ({s.role}, {len(s.classnames)} classes)" for s in specs)
    sweep = next((c for c in trainer.callbacks if isinstance(c, InterpolationSweep)), None)  # type: ignore[attr-defined]
    swept = ""
    if sweep is not None:
        settings = sweep.settings
        every = "every epoch" if sweep.every_n_epochs == 1 else f"every {sweep.every_n_epochs} epochs"
        swept = f"; alpha swept {every} ({len(settings.alphas)} alphas, {settings.search}, {settings.criterion})"
        if sweep.live.intermediate == "coarse" or sweep.live.budget.max_fraction is not None:
            budget = sweep.live.budget.max_fraction
            swept += f"; live sweeps {sweep.live.intermediate}" + (
                f", within {budget:g} of the training time" if budget is not None else ""
            )
    device = trainer.strategy.root_device.type
    return (
        f"Model: {what}, {'QuickGELU' if quick else 'GELU'}; image tower fine-tuned, text tower and heads frozen\n"
        f"Tasks: {tasks}\n"
        f"Training: {trainer.max_epochs} epochs on {trainer.world_size} x {device} ({trainer.precision}){swept}"
    )


def default_logger(root: str | None) -> Logger:
    """Lightning's default logger (TensorBoard in ``root/lightning_logs``) without its ``hp_metric`` chart.

    The dashboard (:class:`~paint_lightning.callbacks.dashboard.LoggerDashboard`) declares the
    HParams row with the run's own metrics; Lightning's placeholder ``hp_metric = -1`` would only
    add a one-point chart. A logger given with ``--trainer.logger`` is used as given.
    """
    from lightning.fabric.plugins.environments import SLURMEnvironment
    from lightning.pytorch.loggers import TensorBoardLogger

    save_dir = os.path.normpath(os.path.expanduser(root)) if root is not None else os.getcwd()
    return TensorBoardLogger(save_dir=save_dir, version=SLURMEnvironment.job_id(), default_hp_metric=False)


def default_precision(accelerator: object) -> str:
    """``bf16-mixed`` where a CUDA device supports it and will be used, else ``32-true``."""
    wants_gpu = accelerator in (None, "auto", "gpu", "cuda")
    if wants_gpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def build_missing_checkpoint(clip: Any) -> None:
    """Runs ``clip.recipe`` to build ``clip.pretrained`` when that local file is missing."""
    get = clip.get if isinstance(clip, dict) else lambda key: getattr(clip, key, None)
    recipe, pretrained = get("recipe"), get("pretrained")
    if not recipe or not pretrained or not looks_like_path(pretrained) or checkpoint_path(pretrained).is_file():
        return
    from paint_lightning.commands.pretrain import ensure_world_checkpoint

    ensure_world_checkpoint(pretrained, recipe)


def _spec_dicts(specs: list[TaskSpec]) -> list[dict[str, Any]]:
    return [spec.to_dict() for spec in specs]


# Commands of LightningCLI, with their one-line help (paint --help lists them).
LIGHTNING_COMMANDS: dict[str, str] = {
    "fit": "Fine-tune, sweep alpha on held-out data, test, and export the patched model.",
    "validate": "Sweep alpha on the held-out sets of a checkpoint (--ckpt_path), no training.",
    "test": "Zero-shot, fine-tuned and patched test accuracy of a checkpoint (--ckpt_path).",
}

# Commands beside LightningCLI's fit/validate/test: name -> (module, function, one-line help).
# Each function takes the arguments after the command name; its module is imported only when used.
EXTRA_COMMANDS: dict[str, tuple[str, str, str]] = {
    "predict": ("paint_lightning.commands.predict", "predict_main", "Classify images with any model, any alpha."),
    "export": ("paint_lightning.commands.export", "export_main", "Write a run's model at alpha* (or any mix)."),
    "sweep": ("paint_lightning.commands.sweep", "sweep_main", "Sweep alpha between two checkpoints made elsewhere."),
    "parallel": ("paint_lightning.commands.parallel", "parallel_main", "Combine several fine-tuned runs (and merges)."),
    "data": ("paint_lightning.commands.data", "data_main", "Check or fetch a config's data (check|download|list)."),
    "pretrain": ("paint_lightning.commands.pretrain", "pretrain_main", "Pretrain the offline world's tiny CLIP."),
    "configs": (
        "paint_lightning.commands.configs",
        "configs_main",
        "List, show or copy the shipped configs (list|show|copy).",
    ),
    "model": ("paint_lightning.commands.model", "model_main", "Check or fetch a model's files (check|download)."),
    "push": ("paint_lightning.commands.push", "push_main", "Upload a hub export to the Hugging Face Hub."),
    "sequential": (
        "paint_lightning.commands.sequential",
        "sequential_main",
        "Patch tasks one after another, earlier ones protected.",
    ),
}
# Extra commands that train, listed with fit/validate/test in ``paint --help``.
TRAINING_EXTRAS = ("sequential", "pretrain")


def main(args: Sequence[str] | None = None) -> None:
    """Runs the ``paint`` command with ``args`` (default: ``sys.argv[1:]``)."""
    argv = list(sys.argv[1:] if args is None else args)
    show_traceback = wants_traceback(argv)
    command = argv[0] if argv else ""
    with quiet_console():
        guarded(lambda: _dispatch(argv), show_traceback, f"paint {command}".strip())


def _dispatch(argv: list[str]) -> None:
    argv = resolve_config_args(argv)  # `--config quickstart`: a shipped config by name, from any folder
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(overview())
        return
    if argv[0] in EXTRA_COMMANDS:
        module_name, function, _ = EXTRA_COMMANDS[argv[0]]
        getattr(importlib.import_module(module_name), function)(argv[1:])
        return
    if argv[0] not in LIGHTNING_COMMANDS and not argv[0].startswith("-"):
        print(f"error: unknown command {argv[0]!r}.\n\n{overview()}", file=sys.stderr)
        sys.exit(2)
    try:
        _lightning_cli(argv)
    except argparse.ArgumentError as err:
        raise UserError(f"{err}\n(paint {argv[0]} --help lists the options)", exit_code=2) from err


def _lightning_cli(argv: list[str]) -> None:
    PaintCLI(
        PaintModule,
        PaintDataModule,
        seed_everything_default=0,
        args=argv,  # without the flags the paint command takes itself (--traceback)
        save_config_kwargs={"overwrite": True},
        # Parse errors come back as exceptions: one line instead of the whole usage (see guarded()).
        parser_kwargs={"exit_on_error": False, **{name: {"exit_on_error": False} for name in LIGHTNING_COMMANDS}},
    )


def overview() -> str:
    """``paint --help``: every command with its one-line help."""
    width = max(len(name) for name in [*LIGHTNING_COMMANDS, *EXTRA_COMMANDS]) + 2
    training = [*LIGHTNING_COMMANDS.items(), *((name, EXTRA_COMMANDS[name][2]) for name in TRAINING_EXTRAS)]
    train = "\n".join(f"  {name:<{width}}{text}" for name, text in training)
    extra = "\n".join(
        f"  {name:<{width}}{text}" for name, (_, _, text) in EXTRA_COMMANDS.items() if name not in TRAINING_EXTRAS
    )
    return (
        "usage: paint <command> [options]     (paint <command> --help lists a command's options)\n\n"
        "Patch open-vocabulary models (open_clip CLIP) by interpolating weights (PAINT).\n\n"
        "Train and evaluate (--config YAML; --trainer.*, --model.*, --data.*, --sweep.* override it):\n"
        f"{train}\n\nUse, ship and combine models without training, prepare data:\n{extra}\n\n"
        "A mistake in a config or a path ends with one line (exit status 2 for the config, 1 otherwise);\n"
        "--traceback or PAINT_TRACEBACK=1 shows the traceback, PAINT_VERBOSE=1 shows Lightning's own messages."
    )


if __name__ == "__main__":
    main()
