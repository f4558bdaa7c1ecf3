"""The ``paint`` command: LightningCLI over PaintModule and PaintDataModule.

``paint fit --config configs/quickstart.yaml`` trains, sweeps alpha and exports the patched
model; ``paint test --config ... --ckpt_path ...`` reports zero-shot / fine-tuned / patched test
accuracy; ``paint pretrain --config configs/world/pretrain.yaml`` builds the offline world's CLIP.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from paint_lightning.callbacks import InterpolationSweep, PreemptionCheckpoint
from paint_lightning.data import PaintDataModule, TaskSpec
from paint_lightning.models import PaintModule
from paint_lightning.models.source import checkpoint_path, looks_like_path


class PaintCLI(LightningCLI):
    """LightningCLI with the interpolation sweep (``sweep:``) and SIGTERM checkpoints always on."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Adds ``sweep``, ``preemption`` and the project's trainer defaults."""
        parser.add_lightning_class_args(InterpolationSweep, "sweep")
        parser.add_lightning_class_args(PreemptionCheckpoint, "preemption")
        parser.set_defaults({"trainer.gradient_clip_val": 1.0})
        # Gives the model its task specs; also makes the DataModule (cheap, validates the tasks)
        # be built before the model (which may download weights).
        parser.link_arguments("data.specs", "model.tasks", compute_fn=_spec_dicts, apply_on="instantiate")

    def before_instantiate_classes(self) -> None:
        """Fills defaults that depend on the machine, and builds a missing recipe checkpoint.

        ``trainer.precision`` left unset means bf16-mixed on a bf16-capable GPU, else 32-true. A
        ``model.clip.pretrained`` file that is missing but has a ``model.clip.recipe`` is built by
        running that recipe (``paint pretrain``) first, once, under a file lock.
        """
        config = self.config[self.subcommand] if self.subcommand else self.config
        if config.trainer.precision is None:
            config.trainer.precision = default_precision(config.trainer.accelerator)
        build_missing_checkpoint(config.model.clip)

    def before_fit(self) -> None:
        """Checkpoints are read with ``weights_only=True`` unless the user says otherwise."""
        self._weights_only_default("fit")

    def before_validate(self) -> None:
        """See :meth:`before_fit`."""
        self._weights_only_default("validate")

    def before_test(self) -> None:
        """See :meth:`before_fit`."""
        self._weights_only_default("test")

    def before_predict(self) -> None:
        """See :meth:`before_fit`."""
        self._weights_only_default("predict")

    def _weights_only_default(self, subcommand: str) -> None:
        config = self.config_init[subcommand] if self.subcommand else self.config_init
        if "weights_only" in config and config["weights_only"] is None:
            config["weights_only"] = True


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
    from paint_lightning.world.pretrain import ensure_world_checkpoint

    ensure_world_checkpoint(pretrained, recipe)


def _spec_dicts(specs: list[TaskSpec]) -> list[dict[str, Any]]:
    return [spec.to_dict() for spec in specs]


# Commands beside LightningCLI's fit/validate/test: name -> (module, function, one-line help).
# Each function takes the arguments after the command name; its module is imported only when used.
EXTRA_COMMANDS: dict[str, tuple[str, str, str]] = {
    "pretrain": ("paint_lightning.world.pretrain", "pretrain_main", "Pretrain the offline world's tiny CLIP."),
    "data": ("paint_lightning.datasets.command", "data_main", "Check or fetch a config's data (check|download|list)."),
    "sequential": (
        "paint_lightning.workflows.sequential",
        "sequential_main",
        "Patch tasks one after another.",
    ),
}


def main(args: Sequence[str] | None = None) -> None:
    """Runs the ``paint`` command with ``args`` (default: ``sys.argv[1:]``)."""
    argv = list(sys.argv[1:] if args is None else args)
    if argv and argv[0] in EXTRA_COMMANDS:
        module_name, function, _ = EXTRA_COMMANDS[argv[0]]
        getattr(importlib.import_module(module_name), function)(argv[1:])
        return
    PaintCLI(
        PaintModule,
        PaintDataModule,
        seed_everything_default=0,
        args=None if args is None else argv,
        save_config_kwargs={"overwrite": True},
    )


if __name__ == "__main__":
    main()
