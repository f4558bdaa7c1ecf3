"""Killed-and-resumed runs end exactly where uninterrupted runs end."""

import json
import os
import signal
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback
from lightning.pytorch.utilities.exceptions import SIGTERMException

from paint_lightning import InterpolationSweep
from paint_lightning.callbacks import PreemptionCheckpoint
from tests.callbacks.helpers import fit_tiny

ALPHAS = [0.0, 0.5, 1.0]


class _SigtermAt(Callback):
    """Sends this process SIGTERM after a given optimizer step, like a scheduler would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def _report(trainer) -> dict:
    report = json.loads((Path(trainer.log_dir) / "paint_report.json").read_text())
    report.pop("test", None)
    return report


@pytest.mark.parametrize(
    ("num_workers", "stop_step"), [(0, 4), (2, 4), (0, 3)], ids=["mid-epoch", "mid-epoch-workers", "epoch-end"]
)
def test_sigterm_leaves_a_checkpoint_that_resumes_exactly(tmp_path, num_workers, stop_step) -> None:
    kwargs = {"epochs": 3}

    def sweep() -> InterpolationSweep:
        return InterpolationSweep(alphas=ALPHAS, max_fraction=None, export=False, final_test=False)

    import tests.callbacks.helpers as helpers

    original = helpers.tiny_datamodule
    helpers.tiny_datamodule = lambda: original(num_workers=num_workers, persistent_workers=False)
    try:
        clean_trainer, clean, _ = fit_tiny(tmp_path / "clean", [sweep()], **kwargs)
        with pytest.raises(SIGTERMException):
            fit_tiny(tmp_path / "killed", [sweep(), PreemptionCheckpoint(), _SigtermAt(step=stop_step)], **kwargs)
        checkpoint = tmp_path / "killed" / "logs" / "version_0" / "checkpoints" / "preempted.ckpt"
        assert checkpoint.is_file()
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        assert saved["global_step"] == stop_step
        resumed_trainer, resumed, _ = fit_tiny(
            tmp_path / "resumed", [sweep()], seed=99, ckpt_path=str(checkpoint), **kwargs
        )
    finally:
        helpers.tiny_datamodule = original
    assert resumed_trainer.global_step == clean_trainer.global_step
    for (name, a), b in zip(clean.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert _report(resumed_trainer) == _report(clean_trainer)


def test_zero_shot_snapshot_comes_from_the_checkpoint_not_the_source(tmp_path) -> None:
    trainer, module, _ = fit_tiny(
        tmp_path / "a",
        [InterpolationSweep(alphas=ALPHAS, export=False, final_test=False)],
        epochs=1,
        enable_checkpointing=True,
    )
    checkpoint = trainer.checkpoint_callback.best_model_path
    # "the source changed": a different seed builds different initial weights
    _resumed_trainer, resumed, _ = fit_tiny(
        tmp_path / "b",
        [InterpolationSweep(alphas=ALPHAS, export=False, final_test=False)],
        seed=7,
        epochs=2,
        ckpt_path=checkpoint,
    )
    for a, b in zip(module.start_point.parameters(), resumed.start_point.parameters(), strict=True):
        assert torch.equal(a, b)


def test_non_finite_loss_stops_with_an_actionable_message(tmp_path) -> None:
    class _Poison(Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            if trainer.global_step == 2:
                with torch.no_grad():
                    pl_module.clip.visual.proj.fill_(float("nan"))

    with pytest.raises(FloatingPointError, match=r"loss is nan at global step 2.*lower model.lr.*gradient_clip_val"):
        fit_tiny(tmp_path, [_Poison()], epochs=2, gradient_clip_val=1.0)
