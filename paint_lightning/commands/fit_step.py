"""``paint fit`` as a step of another command: checked in this process, run in a process of its own.

``paint sequential`` checks every step's config with :func:`parse_fit` before the first step
starts, then runs each step with :func:`run_fit`, so that no state of one step (seeds, the
default dtype, logging handlers, module-level values) reaches the next. The parser
is :class:`~paint_lightning.commands.cli.PaintCLI`'s own, built through LightningCLI's public
``run=False`` mode (one parser, no subcommand) plus the arguments of ``Trainer.fit`` that the
``fit`` subcommand adds (``ckpt_path``, ``weights_only``); the hooks that would build the
DataModule, the model and the Trainer, or seed the process, do nothing here.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jsonargparse import Namespace
from lightning.pytorch.cli import LightningArgumentParser

from paint_lightning.commands.cli import PaintCLI
from paint_lightning.data import PaintDataModule
from paint_lightning.errors import UserError
from paint_lightning.models import PaintModule


def parse_fit(args: Sequence[str]) -> Namespace:
    """The config that ``paint fit <args>`` would run, parsed and checked the same way.

    Nothing is instantiated, downloaded, seeded or run; this process's global state is unchanged.

    Args:
        args: The arguments after ``paint fit`` (``--config`` files, YAML strings, flags).

    Returns:
        The parsed ``fit`` config (``trainer``, ``model``, ``data``, ``sweep``...).

    Raises:
        argparse.ArgumentError: When ``paint fit`` would refuse an argument or a config value.
    """
    cli = _ParseOnlyCLI(
        PaintModule,
        PaintDataModule,
        save_config_callback=None,
        seed_everything_default=0,
        parser_kwargs={"exit_on_error": False},
        args=list(args),
        run=False,
        load_from_checkpoint_support=False,
    )
    return cli.fit_config


class _ParseOnlyCLI(PaintCLI):
    """:class:`PaintCLI` that stops once the arguments are parsed (see the module docstring)."""

    fit_config: Namespace

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        super().add_arguments_to_parser(parser)
        # What LightningCLI's `fit` subcommand parser adds beside the classes' arguments.
        parser.add_method_arguments(self.trainer_class, "fit", skip=set(self.subcommands()["fit"]))

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, args)
        self.fit_config = self.config
        # LightningCLI seeds the process with the parsed `seed_everything` next (and exports it as
        # PL_GLOBAL_SEED to child processes): a parse must not, so that copy says "no seed".
        self.config = self.config.clone()
        self.config.seed_everything = False

    def before_instantiate_classes(self) -> None:
        """Nothing: no machine-dependent defaults, no recipe checkpoint built."""

    def instantiate_classes(self) -> None:
        """Nothing is built."""


def fit_command(args: Sequence[str]) -> list[str]:
    """The command line that runs ``paint fit <args>`` in a fresh Python process (this interpreter)."""
    return [sys.executable, "-m", "paint_lightning", "fit", *args]


def step_environment() -> dict[str, str]:
    """This process's environment, with this process's ``paint_lightning`` first on the step's path.

    A source checkout run from another folder (or another checkout installed in the environment)
    thus runs the same code in every step as in the chain.
    """
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # the folder holding this paint_lightning
    installed = {*site.getsitepackages(), site.getusersitepackages()}
    if root not in installed:  # never put site-packages before the standard library
        env["PYTHONPATH"] = os.pathsep.join([root, *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)])
    return env


def run_fit(args: Sequence[str], where: str, done: Sequence[Path] = ()) -> None:
    """Runs ``paint fit <args>`` in its own process, its output going straight to this console.

    A step in its own process starts from a clean state: no seed, default dtype, logging handler or
    module-level value of an earlier step reaches it.

    Args:
        args: The arguments after ``paint fit``.
        where: The step, as the error names it (``Step 2/3 (digits)``).
        done: Folders of the steps done before it (kept as they are when this one fails).

    Raises:
        UserError: When the step fails, naming it, with its exit status (2: its config).
    """
    sys.stdout.flush()  # the chain's lines before the step's own
    sys.stderr.flush()
    code = subprocess.run(fit_command(args), env=step_environment(), check=False).returncode
    if code == 0:
        return
    status = f"exit status {code}" if code > 0 else f"signal {-code}"
    kept = f" The steps before it are done and kept: {', '.join(str(d) for d in done)}." if done else ""
    raise UserError(
        f"{where} failed (paint fit ended with {status}; its messages are above).{kept} "
        "Fix it and run paint sequential again: the steps already done are not run again.",
        exit_code=code if code in (1, 2) else 1,
    )
