"""The interpolation sweep inside the Lightning Trainer: when to sweep, and what to do with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor
from typing_extensions import override

from paint_lightning.callbacks import per_block as per_block_step
from paint_lightning.callbacks.batchnorm import restore_training_buffers, swap_in_pooled
from paint_lightning.callbacks.final_test import evaluate_test, test_checkpoint
from paint_lightning.callbacks.live_schedule import Intermediate, LiveSchedule, last_epoch
from paint_lightning.callbacks.outputs import announce_sweep, export_selected_model, log_sweep
from paint_lightning.callbacks.runtime import SweepRuntime, check_setup
from paint_lightning.callbacks.validation import ReplacesValidation
from paint_lightning.engine.alpha_sweep import SweepSettings, sweep_alphas
from paint_lightning.engine.counts import TaskCounts
from paint_lightning.engine.per_block.block_search import BlockSearch
from paint_lightning.engine.record import run_report
from paint_lightning.engine.sweep_schedule import partial_note
from paint_lightning.interpolation.mix import ZERO_SHOT, Mix
from paint_lightning.io.report_file import write_report
from paint_lightning.selection.criteria import Criterion


class InterpolationSweep(ReplacesValidation):
    """Evaluates ``(1 - alpha) * theta_zero_shot + alpha * theta_fine_tuned`` over alphas.

    A thin scheduler around the engine (:mod:`paint_lightning.engine`): at the end of every
    ``every_n_epochs``-th training epoch every held-out set of the DataModule (patch and support
    tasks) is classified at every alpha in one pass (weights interpolated in place, restored bit
    for bit, RNG untouched, so training continues exactly as without the sweep); alpha* is chosen
    by ``criterion``; curves go to the loggers (TensorBoard by default) and ``paint_report.json``. The sweep's alpha = 1
    counts are the validation metrics (``val/<task>/acc``), so during ``fit`` the DataModule gives
    Lightning's validation loop, which would repeat that pass, no batches
    (:mod:`~paint_lightning.callbacks.validation`); the Trainer's settings are left as given. At the end of
    training the patched model is exported and, with ``final_test``, the zero-shot, fine-tuned and
    patched models are compared on the test splits. With ``per_block``, the last sweep goes on to
    search finer coefficients (one seam: :mod:`~paint_lightning.callbacks.per_block`, a no-op
    without it). Under DDP every process evaluates its own shard (all of one size, padded with
    items that count nowhere), integer counts are summed, and BatchNorm statistics are pooled
    across processes for the sweep and the export only (training goes on from each process's own),
    so results do not depend on the number of processes; files are written by global rank 0 only.
    With Lightning's ``WeightAveraging`` the averaged weights are swept and exported. ``paint
    validate --ckpt_path ...`` sweeps a checkpoint without training; ``paint test`` reports
    zero-shot, fine-tuned and patched test accuracy of a checkpoint.

    Args:
        alphas: Alphas to evaluate (default ``0.0, 0.1, ..., 1.0``). With ``search: adaptive``
            this is the coarse grid.
        every_n_epochs: Sweep every this many epochs at most (and always once at the end of training).
        max_fraction: Budget of the intermediate sweeps: a share of the training time (``None``: no
            budget; :mod:`~paint_lightning.callbacks.live_schedule`). The last sweep always runs in full.
        intermediate: ``coarse``: partial intermediate sweeps (marked ``partial``); ``full``: as the last.
        intermediate_images: Held-out images per task in a coarse sweep (every k-th); ``None``: all.
        criterion: ``mean``: maximise the mean of patch and support accuracy (the paper's);
            ``constrained``: maximise patch accuracy with no support task more than
            ``max_support_drop`` points below zero-shot; ``constrained_mean``: the same limit on
            the support tasks' average drop.
        max_support_drop: Points of support accuracy that the constrained criteria may give up.
        max_task_drop: Support task name -> points that task may give up on its own, on top of
            ``max_support_drop`` (constrained criteria only), e.g. ``{digits: 1.0}``. ``paint
            sequential`` sets it for earlier patches with the chain's ``max_earlier_drop``.
        start_name: What alpha = 0 is called in the test table and the criterion: ``zero-shot``,
            or ``start`` for a run that starts from a patched model (``paint sequential`` sets it
            for every step after the first).
        search: ``grid`` evaluates exactly ``alphas``; ``adaptive`` refines around the best
            alpha down to ``resolution``.
        resolution: Finest alpha step of the adaptive search.
        allow_extrapolation: Permit alphas outside ``[0, 1]``.
        chunk_mb: Device memory (MiB) for staging evaluation batches; each alpha sets the
            weights once per chunk.
        export: Write ``patched.safetensors`` (+ metadata) at the end of training.
        final_test: Evaluate zero-shot / fine-tuned / patched models on the test splits at the
            end of training.
        log_figures: Log the alpha-curve and trade-off figures to every logger that takes images.
        per_block: Search per-block coefficients after the last sweep, e.g. ``{search: lines,
            budget: 40}`` (:class:`~paint_lightning.engine.per_block.block_search.BlockSearch`); off by default.
    """

    def __init__(
        self,
        alphas: list[float] | None = None,
        every_n_epochs: int = 1,
        max_fraction: float | None = 0.25,
        intermediate: Intermediate = "coarse",
        intermediate_images: int | None = 250,
        criterion: Criterion = "mean",
        max_support_drop: float | None = None,
        max_task_drop: dict[str, float] | None = None,
        start_name: str = "zero-shot",
        search: Literal["grid", "adaptive"] = "grid",
        resolution: float = 0.01,
        allow_extrapolation: bool = False,
        chunk_mb: int = 512,
        export: bool = True,
        final_test: bool = True,
        log_figures: bool = True,
        per_block: BlockSearch | None = None,
    ) -> None:
        super().__init__()
        settings: dict[str, Any] = {
            "criterion": criterion,
            "max_support_drop": max_support_drop,
            "max_task_drop": max_task_drop,
            "start_name": start_name,
            "search": search,
            "resolution": resolution,
            "allow_extrapolation": allow_extrapolation,
        }
        if alphas is not None:
            settings["alphas"] = tuple(alphas)
        self.settings = SweepSettings(**settings)
        if every_n_epochs < 1:
            raise ValueError(f"sweep.every_n_epochs={every_n_epochs}: must be at least 1.")
        if chunk_mb < 1:
            raise ValueError(f"sweep.chunk_mb={chunk_mb}: must be at least 1 (MiB of device memory).")
        self.every_n_epochs = every_n_epochs
        self.live = LiveSchedule(max_fraction, intermediate, intermediate_images)
        self.chunk_bytes = chunk_mb * 2**20
        self.export = export
        self.final_test = final_test
        self.log_figures = log_figures
        if per_block is not None:
            per_block.check(self.settings)
        self.per_block = per_block
        self._table: dict[Mix, TaskCounts] = {}  # held-out counts of the latest sweep, for the per-block step
        self.history: list[dict[str, Any]] = []
        self.zero_shot: dict[str, list[int]] = {}  # held-out counts of the start point, measured once
        self.test_result: dict[str, Any] | None = None
        self.output_dir: Path | None = None  # set in setup(); see _directory()
        self._pooled: tuple[int, dict[str, Tensor]] | None = None  # (step, BatchNorm stats) of the latest sweep

    @property
    def alphas(self) -> list[float]:
        """The alphas of the grid."""
        return list(self.settings.alphas)

    @property
    def selected_alpha(self) -> float | None:
        """Alpha* of the latest sweep."""
        return self.history[-1]["selected_alpha"] if self.history else None

    @property
    def selected_mix(self) -> Mix | None:
        """The mix of the latest sweep: alpha*, or the per-block mix when it won on held-out data."""
        if not self.history:
            return None
        record = self.history[-1]
        return Mix.from_json(record.get("selected_mix", record["selected_alpha"]))

    # -- state -----------------------------------------------------------------------------------

    @override
    def state_dict(self) -> dict[str, Any]:
        state = {"history": self.history, "zero_shot": self.zero_shot, "test_result": self.test_result}
        return {**state, "live_budget": self.live.budget.state(), "zero_shot_subset": self.live.zero_shot_subset}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))
        self.zero_shot = dict(state_dict.get("zero_shot", state_dict.get("zero_shot_counts", {})))
        self.test_result = state_dict.get("test_result")
        self.live.budget.restore(state_dict.get("live_budget"))
        self.live.zero_shot_subset = dict(state_dict.get("zero_shot_subset", {}))

    @override
    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        # Right after a sweep: the BatchNorm statistics it evaluated (and exports); training's go along.
        if self._pooled is not None and self._pooled[0] == trainer.global_step:
            swap_in_pooled(checkpoint, self._pooled[1])

    @override
    def on_load_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        restore_training_buffers(pl_module, checkpoint)  # Lightning calls this when resuming a fit only

    # -- hooks -----------------------------------------------------------------------------------

    @override
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        check_setup(trainer, pl_module, self.settings)
        # trainer.log_dir is a collective under DDP: resolve it here, where every process is.
        self.output_dir = Path(trainer.log_dir or trainer.default_root_dir)

    @override
    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.live.start()

    @override
    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.live.trained()
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0 and not self._swept_now(trainer):
            final = last_epoch(trainer)  # a sweep is a collective: rank 0's clock decides for every process
            if self.live.decided(trainer.strategy.broadcast(self.live.allows(final))):
                SweepRuntime(trainer, pl_module, self.chunk_bytes).heldout_sizes()  # decoded once, untimed
                with self.live.timed(final):
                    self.sweep(trainer, pl_module, final=final, partial=not final)

    @override
    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.state.fn == TrainerFn.VALIDATING and not trainer.sanity_checking:
            # `paint validate --ckpt_path ...`: Lightning's loop counted the live weights already.
            runtime = SweepRuntime(trainer, pl_module, self.chunk_bytes)
            self.sweep(trainer, pl_module, live=runtime.live_counts())
            self._after_last_sweep(runtime)

    @override
    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self._swept_now(trainer) or self.history[-1].get("partial"):  # the last sweep is a full one
            self.sweep(trainer, pl_module, loggable=False, final=True)
        runtime = SweepRuntime(trainer, pl_module, self.chunk_bytes)
        self._after_last_sweep(runtime)
        alpha, mix = self.selected_alpha, self.selected_mix
        assert alpha is not None and mix is not None
        if self.final_test:
            self.test_result = evaluate_test(runtime, self.settings, self.history, alpha)
        if self.export:
            path = export_selected_model(runtime, self.history[-1], self.zero_shot, self.test_result, self._directory())
            what = f"alpha* = {alpha:g}" if mix.is_scalar else f"per-block mix {mix.label()}"
            rank_zero_info(f"Patched model ({what}) written to {path}")
        self._write_report(trainer)

    @override
    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        per_block_step.before_test(self.per_block, self.history)
        runtime = SweepRuntime(trainer, pl_module, self.chunk_bytes)
        self.test_result = test_checkpoint(runtime, self.settings, self.history)
        self._write_report(trainer)

    # -- the sweep -------------------------------------------------------------------------------

    def sweep(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        loggable: bool = True,
        live: TaskCounts | None = None,
        final: bool = False,
        partial: bool = False,
    ) -> dict[str, Any]:
        """Evaluates the alphas on the held-out sets, selects alpha*, logs and reports.

        Args:
            trainer: The trainer.
            pl_module: The model (a :class:`~paint_lightning.engine.protocol.Patchable`).
            loggable: Whether ``pl_module.log`` may be called from the current hook.
            live: Counts of the live weights on the held-out sets, if already measured.
            final: The last sweep of a fit: the zero-shot model is measured again, in the same
                pass as the other alphas, so that the paired statistics compare it image by image
                (earlier sweeps reuse its counts and compare it as independent).
            partial: An intermediate sweep of a fit (``intermediate: coarse``: partial, and marked so).
        """
        runtime = SweepRuntime(trainer, pl_module, self.chunk_bytes)
        roles = runtime.roles()
        coarse = self.live.partial(self.settings, self.selected_alpha) if partial else None
        settings, limit = coarse or (self.settings, None)
        sizes = runtime.heldout_sizes(limit)
        known = self.live.known(self.zero_shot, live, sizes, final)
        with runtime.synchronised() as pooled:
            record, table = sweep_alphas(runtime.measure("heldout", limit=limit), roles, settings, known)
        if pooled and runtime.averaged is None and trainer.state.fn == TrainerFn.FITTING:
            self._pooled = (trainer.global_step, {key: value.detach().cpu() for key, value in pooled.items()})
        if coarse is None:
            self.zero_shot, self._table = table[ZERO_SHOT].to_json(), table
        self.live.zero_shot_subset = table[ZERO_SHOT].to_json()
        full = runtime.heldout_sizes()
        record = {"epoch": trainer.current_epoch, "global_step": trainer.global_step, **record}
        record["selected_mix"] = Mix.of(record["selected_alpha"]).to_json()
        if coarse is not None:
            record["partial"] = partial_note(settings.alphas, self.alphas, {n: (sizes[n], full[n]) for n in roles})
        self.history.append(record)
        fit = trainer.state.fn == TrainerFn.FITTING and sizes == full  # val/* only from every held-out image
        log_sweep(trainer, pl_module, record, loggable, self.log_figures, fit=fit)
        announce_sweep(record)
        self._write_report(trainer)
        return record

    # -- internals -------------------------------------------------------------------------------

    def _after_last_sweep(self, runtime: SweepRuntime) -> None:
        """The per-block step if ``per_block`` is set (:mod:`~paint_lightning.callbacks.per_block`)."""
        if per_block_step.after_last_sweep(runtime, self.settings, self.per_block, self.history[-1], self._table):
            self._write_report(runtime.trainer)

    def _swept_now(self, trainer: Trainer) -> bool:
        return bool(self.history) and self.history[-1]["global_step"] == trainer.global_step

    def _write_report(self, trainer: Trainer) -> None:
        if trainer.is_global_zero and self.history:
            write_report(self._directory(), run_report(self.history, self.zero_shot, self.test_result))

    def _directory(self) -> Path:
        if self.output_dir is None:
            raise RuntimeError("InterpolationSweep.setup has not run: use it as a Trainer callback.")
        return self.output_dir
