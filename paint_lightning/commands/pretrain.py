"""Entry points of world pretraining: ``pretrain_main`` (the CLI) and ``ensure_world_checkpoint``."""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from paint_lightning.composition import compose_as_written
from paint_lightning.io.files import file_lock
from paint_lightning.io.shipped import shipped_file
from paint_lightning.world.caption_data import WorldCaptionData
from paint_lightning.world.compact import ExportCompactCLIP
from paint_lightning.world.pretrain_progress import ProgressLog
from paint_lightning.world.pretraining import WorldCLIPPretraining

log = logging.getLogger(__name__)

# Measured wall time of each shipped recipe on a 2-core CPU, for the user's message.
RECIPE_MINUTES_ON_2_CORES = {"pretrain.yaml": 16, "pretrain_deep.yaml": 24, "pretrain_wide.yaml": 34}


class _PretrainCLI(LightningCLI):
    def parse_arguments(self, parser: LightningArgumentParser, args: object) -> None:
        compose_as_written(parser)  # lists replaced, mappings merged, as in paint fit
        super().parse_arguments(parser, args)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # `--export.path` is where the compact checkpoint goes; the callback is always active.
        parser.add_lightning_class_args(ExportCompactCLIP, "export")
        parser.add_lightning_class_args(ProgressLog, "progress")


def pretrain_main(args: list[str] | None = None) -> None:
    """Runs the world pretraining recipe: ``fit`` of :class:`WorldCLIPPretraining`.

    Args:
        args: Command-line arguments after the subcommand, e.g.
            ``["--config", "configs/world/pretrain.yaml", "--export.path", "out.safetensors"]``.
    """
    with warnings.catch_warnings():  # `paint pretrain` passes its own args: not the mistake warned of
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
        _PretrainCLI(
            WorldCLIPPretraining,
            WorldCaptionData,
            args=["fit", *(args or [])],
            seed_everything_default=0,
            save_config_callback=None,
            auto_configure_optimizers=False,
        )


def ensure_world_checkpoint(path: str, recipe: str) -> Path:
    """Returns ``path``, first pretraining the world CLIP there with ``recipe`` if it is missing.

    Two processes asking at once do not both pretrain: the second waits on a lock file beside
    ``path`` and then finds the checkpoint built.

    Args:
        path: Where the compact world checkpoint is (or will be written).
        recipe: The pretraining YAML, e.g. ``configs/world/pretrain.yaml``.

    Raises:
        FileNotFoundError: If the checkpoint is missing and ``recipe`` does not exist.
    """
    target = Path(path).expanduser()
    if target.is_file():
        return target
    recipe = str(recipe if Path(recipe).is_file() else (shipped_file(recipe) or recipe))  # from any folder
    if not Path(recipe).is_file():
        raise FileNotFoundError(
            f"The world checkpoint {target} is missing and the pretraining recipe {recipe} was not "
            "found; pass an existing recipe (configs/world/pretrain.yaml in the repository) or an "
            "existing checkpoint path."
        )
    with file_lock(target.with_name(target.name + ".lock")):
        if target.is_file():  # another process built it while we waited
            return target
        minutes = RECIPE_MINUTES_ON_2_CORES.get(Path(recipe).name)
        took = f"about {minutes} minutes on a 2-core CPU; " if minutes else ""
        log.warning(
            "No world checkpoint at %s: pretraining one with %s (%sdone once, later runs reuse it).",
            target,
            recipe,
            took,
        )
        start = time.monotonic()
        run_recipe(recipe, target)
        if not target.is_file():
            raise RuntimeError(f"pretraining with {recipe} finished but did not write {target}")
        log.warning("World pretraining took %.1f minutes.", (time.monotonic() - start) / 60)
    return target


def run_recipe(recipe: str, output: Path) -> None:
    """Runs the pretraining ``recipe`` with its export path set to ``output``."""
    pretrain_main(["--config", str(recipe), "--export.path", str(output)])
