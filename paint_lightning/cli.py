"""The ``paint`` command: LightningCLI over PaintModule and PaintDataModule.

``paint fit --config configs/quickstart.yaml`` trains, sweeps alpha and exports the patched
model; ``paint test --config ... --ckpt_path ...`` reports zero-shot / fine-tuned / patched test
accuracy; ``paint pretrain --config configs/world/pretrain.yaml`` builds the offline world's CLIP.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from paint_lightning.callbacks import InterpolationSweep
from paint_lightning.data import PaintDataModule
from paint_lightning.models import PaintModule


class PaintCLI(LightningCLI):
    """LightningCLI with the interpolation sweep always on, configured under ``sweep:``."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Adds ``sweep`` and the project's trainer defaults."""
        parser.add_lightning_class_args(InterpolationSweep, "sweep")
        parser.set_defaults({"trainer.gradient_clip_val": 1.0})


def main(args: Sequence[str] | None = None) -> None:
    """Runs the ``paint`` command with ``args`` (default: ``sys.argv[1:]``)."""
    argv = list(sys.argv[1:] if args is None else args)
    if argv and argv[0] == "pretrain":
        from paint_lightning.world.pretrain import pretrain_main

        pretrain_main(argv[1:])
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
