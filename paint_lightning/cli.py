"""The ``paint`` command: LightningCLI over PaintModule and PaintDataModule.

``paint fit --config configs/quickstart.yaml`` trains, sweeps alpha and exports the patched
model; ``paint test --config ... --ckpt_path ...`` reports zero-shot / fine-tuned / patched test
accuracy; ``paint pretrain --config configs/world/pretrain.yaml`` builds the offline world's CLIP.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from paint_lightning.callbacks import InterpolationSweep, PreemptionCheckpoint
from paint_lightning.data import PaintDataModule
from paint_lightning.models import PaintModule


class PaintCLI(LightningCLI):
    """LightningCLI with the interpolation sweep (``sweep:``) and SIGTERM checkpoints always on."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Adds ``sweep``, ``preemption`` and the project's trainer defaults."""
        parser.add_lightning_class_args(InterpolationSweep, "sweep")
        parser.add_lightning_class_args(PreemptionCheckpoint, "preemption")
        parser.set_defaults({"trainer.gradient_clip_val": 1.0})

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
