"""epoch_eval: evaluation time per epoch now vs before Lightning's validation loop was dropped.

Before, every epoch ran Lightning's validation loop over the held-out sets (the live weights,
i.e. alpha = 1) and then the sweep, which evaluates alpha = 1 again among its alphas. Now the
sweep alone runs, and its alpha = 1 counts are the validation metrics. Measured on the
quickstart's own model and held-out sets (the shipped world CLIP; 140 digits and 3 x 1000
support images, decoded once into memory as in a run), with the quickstart's adaptive sweep.
Both sides run in one process, interleaved; the figure is (sweep) / (validation loop + sweep),
the per-epoch evaluation time that remains.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import Result, Stopwatch, attach, configure, interleave, median, simulate_finetuning
from lightning.pytorch import Trainer

from paint_lightning import InterpolationSweep, PaintDataModule, PaintModule
from paint_lightning.commands.cli import PaintCLI

TARGET = 1.0
QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"


def run(reps: int = 3) -> Result:
    """Times Lightning's validation loop and the sweep on the quickstart's model and data."""
    configure()
    cli = PaintCLI(PaintModule, PaintDataModule, args=["--config", str(QUICKSTART)], run=False)
    module, datamodule = cli.model, cli.datamodule
    sweep_args = cli.config["sweep"].as_dict()
    simulate_finetuning(module, scale=0.005)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = attach(module, datamodule, Path(tmp))
        sizes = {name: len(data) for name, data in datamodule.cached_heldout_sets().items()}  # decoded once

        def lightning_validation() -> float:
            validator = Trainer(
                accelerator="cpu",
                devices=1,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                default_root_dir=tmp,
            )
            with Stopwatch() as watch:
                validator.validate(module, datamodule, verbose=False)
            return watch.seconds

        def sweep() -> float:
            callback = InterpolationSweep(**{**sweep_args, "export": False, "final_test": False})
            callback.setup(trainer, module, "fit")
            with Stopwatch() as watch:
                callback.sweep(trainer, module, loggable=False)
            return watch.seconds

        times = interleave({"validation": lightning_validation, "sweep": sweep}, reps, "epoch_eval")
    validation_s, sweep_s = median(times["validation"]), median(times["sweep"])
    remaining = sweep_s / (validation_s + sweep_s)
    return Result(
        "epoch_eval",
        remaining,
        "<=",
        TARGET,
        details={
            "setup": f"quickstart model and held-out sets {sizes}, in memory; sweep {sweep_args}",
            "Lightning validation loop, alpha = 1 (median s)": (
                f"{validation_s:.2f}  {[round(t, 2) for t in times['validation']]}"
            ),
            "sweep (median s)": f"{sweep_s:.2f}  {[round(t, 2) for t in times['sweep']]}",
            "saved per epoch": f"{validation_s:.2f} s of {validation_s + sweep_s:.2f} s ({100 * (1 - remaining):.1f}%)",
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    result = run(parser.parse_args().reps)
    print(result.report())
    sys.exit(0 if result.status != "MISS" else 1)
