"""The interpolation sweep: PAINT's alpha search, run inside the Lightning Trainer."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from typing_extensions import override

from paint_lightning.callbacks.evaluation import count_correct
from paint_lightning.callbacks.report import at_alpha, final_table, log_to_tensorboard, sweep_record
from paint_lightning.export import export_patched
from paint_lightning.interpolation.search import adaptive_alpha_search, grid_alphas
from paint_lightning.interpolation.selection import CRITERIA, Criterion, SweepCurves, objective, select_alpha
from paint_lightning.io import write_json

log = logging.getLogger(__name__)

REPORT = "paint_report.json"


class InterpolationSweep(Callback):
    """Evaluates ``(1 - alpha) * theta_zero_shot + alpha * theta_fine_tuned`` over alphas.

    At the end of every ``every_n_epochs``-th training epoch (after its validation) the image
    tower is interpolated in place for each alpha and every held-out set of the DataModule (patch
    and support tasks) is classified in one pass; then the fine-tuned weights are restored bit for
    bit and the RNG state is left as it was, so training continues exactly as without the sweep.
    Alpha* is chosen by ``criterion``; curves go to TensorBoard and ``paint_report.json``. At the
    end of training the patched model is exported and, with ``final_test``, the zero-shot,
    fine-tuned and patched models are compared on the test splits. Under DDP every process
    evaluates its own shard (no padding) and integer counts are summed, so results do not depend
    on the number of processes; files are written by global rank 0 only. ``paint validate
    --ckpt_path ...`` sweeps and selects on a checkpoint without training; ``paint test`` reports
    zero-shot, fine-tuned and patched test accuracy of a checkpoint.

    Args:
        alphas: Alphas to evaluate (default ``0.0, 0.1, ..., 1.0``). With ``search: adaptive``
            this is the coarse grid.
        every_n_epochs: Sweep every this many epochs (and always once at the end of training).
        criterion: ``mean``: maximise the mean of patch and support accuracy (the paper's);
            ``constrained``: maximise patch accuracy with no support task more than
            ``max_support_drop`` points below zero-shot; ``constrained_mean``: the same limit on
            the support tasks' average drop.
        max_support_drop: Points of support accuracy that the constrained criteria may give up.
        search: ``grid`` evaluates exactly ``alphas``; ``adaptive`` refines around the best
            alpha down to ``resolution``.
        resolution: Finest alpha step of the adaptive search.
        allow_extrapolation: Permit alphas outside ``[0, 1]``.
        chunk_mb: Device memory for staging evaluation batches; each alpha interpolates the
            weights once per chunk.
        export: Write ``patched.safetensors`` (+ metadata) at the end of training.
        final_test: Evaluate zero-shot / fine-tuned / patched models on the test splits at the
            end of training.
        log_figures: Log alpha-curve and trade-off figures to TensorBoard.
    """

    def __init__(
        self,
        alphas: list[float] | None = None,
        every_n_epochs: int = 1,
        criterion: Criterion = "mean",
        max_support_drop: float | None = None,
        search: Literal["grid", "adaptive"] = "grid",
        resolution: float = 0.01,
        allow_extrapolation: bool = False,
        chunk_mb: int = 512,
        export: bool = True,
        final_test: bool = True,
        log_figures: bool = True,
    ) -> None:
        super().__init__()
        alphas = grid_alphas(0.1) if alphas is None else sorted({round(float(a), 6) for a in alphas})
        _validate(alphas, every_n_epochs, criterion, max_support_drop, allow_extrapolation, resolution)
        self.alphas = alphas
        self.every_n_epochs = every_n_epochs
        self.criterion: Criterion = criterion
        self.max_support_drop = max_support_drop
        self.search = search
        self.resolution = resolution
        self.chunk_bytes = chunk_mb * 2**20
        self.export = export
        self.final_test = final_test
        self.log_figures = log_figures
        self.history: list[dict[str, Any]] = []
        self.zero_shot_counts: dict[str, list[int]] = {}
        self.test_result: dict[str, Any] | None = None
        self.output_dir: Path | None = None  # set in setup(); see _directory()

    # -- state -----------------------------------------------------------------------------------

    @property
    def selected_alpha(self) -> float | None:
        """Alpha* of the latest sweep."""
        return self.history[-1]["selected_alpha"] if self.history else None

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history, "zero_shot_counts": self.zero_shot_counts, "test_result": self.test_result}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))
        self.zero_shot_counts = dict(state_dict.get("zero_shot_counts", {}))
        self.test_result = state_dict.get("test_result")

    # -- hooks -----------------------------------------------------------------------------------

    @override
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if not hasattr(pl_module, "interpolation_tensors"):
            raise TypeError(f"InterpolationSweep needs a PaintModule, got {type(pl_module).__name__}.")
        datamodule = getattr(trainer, "datamodule", None)
        if datamodule is None or not hasattr(datamodule, "cached_heldout_sets"):
            raise TypeError("InterpolationSweep needs a PaintDataModule passed as `datamodule=`.")
        # trainer.log_dir is a collective under DDP: resolve it here, where every process is.
        self.output_dir = Path(trainer.log_dir or trainer.default_root_dir)

    @override
    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking:
            return
        if trainer.state.fn == TrainerFn.VALIDATING:
            # `paint validate --ckpt_path ...`: sweep and select on a checkpoint without training.
            self.sweep(trainer, pl_module, loggable=True)
        elif trainer.state.fn == TrainerFn.FITTING and trainer.is_last_batch and self._due(trainer):
            # Before ModelCheckpoint saves at on_validation_end, so checkpoints include this sweep.
            self.sweep(trainer, pl_module, loggable=True)

    @override
    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # Runs when no validation ran at the end of this epoch.
        if self._due(trainer) and not self._swept_now(trainer):
            self.sweep(trainer, pl_module, loggable=True)

    @override
    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self._swept_now(trainer):
            self.sweep(trainer, pl_module, loggable=False)
        alpha = self.selected_alpha
        assert alpha is not None
        if self.final_test:
            self.test_result = self.evaluate_test(trainer, pl_module, alpha)
        if self.export and trainer.is_global_zero:
            path = self._export(trainer, pl_module, alpha)
            rank_zero_info(f"Patched model (alpha* = {alpha:g}) written to {path}")
        self._write_report(trainer)

    @override
    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        alpha = self.selected_alpha
        if alpha is None:
            rank_zero_warn(
                "No alpha sweep in this checkpoint (was it trained with InterpolationSweep?): "
                "reporting zero-shot and fine-tuned accuracy only."
            )
        self.test_result = self.evaluate_test(trainer, pl_module, alpha)
        for name, row in self.test_result["tasks"].items():
            for key in ("zero_shot", "fine_tuned", "patched"):
                if row.get(key) is not None:
                    pl_module.log(f"test/{name}/{key}", row[key], add_dataloader_idx=False, rank_zero_only=True)
        self._write_report(trainer)

    # -- the sweep -------------------------------------------------------------------------------

    def sweep(self, trainer: Trainer, pl_module: Any, loggable: bool = True) -> dict[str, Any]:
        """Evaluates the alphas on the held-out sets, selects alpha*, logs and reports."""
        sets = trainer.datamodule.cached_heldout_sets()  # type: ignore[attr-defined]
        roles = {spec.name: spec.role for spec in pl_module.task_specs}
        accuracy, totals = self._sweep_accuracy(trainer, pl_module, sets, self.alphas)
        zero_shot = self._zero_shot_accuracy()
        support = [name for name, role in roles.items() if role == "support"]

        def curves(alphas: list[float]) -> SweepCurves:
            return SweepCurves(
                alphas,
                patch={n: [accuracy[a][n] for a in alphas] for n, r in roles.items() if r == "patch"},
                support={n: [accuracy[a][n] for a in alphas] for n in support},
                zero_shot_support={n: zero_shot[n] for n in support},
            )

        if self.search == "adaptive":

            def score(new: Any) -> dict[float, float]:
                fresh = [a for a in new if a not in accuracy]
                if fresh:
                    accuracy.update(self._sweep_accuracy(trainer, pl_module, sets, fresh)[0])
                values = objective(curves(list(new)), self.criterion, self.max_support_drop)
                return dict(zip(new, values, strict=True))

            adaptive_alpha_search(score, self.alphas, self.resolution)
        alphas = sorted(accuracy)
        final = curves(alphas)
        index, _ = select_alpha(final, self.criterion, self.max_support_drop)
        record = sweep_record(
            epoch=trainer.current_epoch,
            global_step=trainer.global_step,
            alphas=alphas,
            roles=roles,
            accuracy={n: [accuracy[a][n] for a in alphas] for n in roles},
            num_examples=totals,
            selected_index=index,
            objective=objective(final, self.criterion, self.max_support_drop),
            criterion=self._criterion_text(),
        )
        self.history.append(record)
        self._log(trainer, pl_module, record, zero_shot, loggable)
        self._write_report(trainer)
        return record

    def evaluate_test(self, trainer: Trainer, pl_module: Any, alpha: float | None) -> dict[str, Any]:
        """Zero-shot, fine-tuned and patched accuracy on every test split; prints the table."""
        sets = trainer.datamodule.cached_test_sets()  # type: ignore[attr-defined]
        alphas = sorted({0.0, 1.0} | ({alpha} if alpha is not None else set()))
        correct, totals = self._count(trainer, pl_module, sets, alphas)
        accuracy = _percent(correct, totals)
        rows = {
            spec.name: {
                "role": spec.role,
                "zero_shot": accuracy[0.0][spec.name],
                "fine_tuned": accuracy[1.0][spec.name],
                "patched": accuracy[alpha][spec.name] if alpha is not None else None,
                "num_examples": totals[spec.name],
            }
            for spec in pl_module.task_specs
        }
        if alpha is not None:
            rank_zero_info("\n" + final_table(rows, alpha, "test"))
        return {"alpha": alpha, "tasks": rows}

    # -- internals -------------------------------------------------------------------------------

    def _sweep_accuracy(
        self, trainer: Trainer, pl_module: Any, sets: dict[str, Any], alphas: list[float]
    ) -> tuple[dict[float, dict[str, float]], dict[str, int]]:
        """Accuracy at ``alphas``; alpha 0 is evaluated once per run and remembered."""
        names = [spec.name for spec in pl_module.task_specs]
        known = set(self.zero_shot_counts) == set(names)
        todo = [a for a in alphas if a != 0.0] if known else sorted(set(alphas) | {0.0})
        correct, totals = self._count(trainer, pl_module, sets, todo)
        if known and any(self.zero_shot_counts[n][1] != totals[n] for n in names):
            # The held-out sets changed size since alpha 0 was measured: measure it again.
            correct.update(self._count(trainer, pl_module, sets, [0.0])[0])
            known = False
        if not known:
            self.zero_shot_counts = {n: [correct[0.0][n], totals[n]] for n in names}
        accuracy = _percent(correct, totals)
        if 0.0 in alphas:
            accuracy[0.0] = self._zero_shot_accuracy()
        else:
            accuracy.pop(0.0, None)
        return accuracy, totals

    def _count(
        self, trainer: Trainer, pl_module: Any, sets: dict[str, Any], alphas: list[float]
    ) -> tuple[dict[float, dict[str, int]], dict[str, int]]:
        """Correct predictions per alpha and task, and examples per task, over all processes."""
        datamodule = trainer.datamodule  # type: ignore[attr-defined]
        names = [spec.name for spec in pl_module.task_specs]
        loaders = {name: datamodule.eval_dataloader(sets[name]) for name in names}
        correct, total = count_correct(
            pl_module,
            loaders,
            alphas,
            pl_module.device,
            self.chunk_bytes,
            trainer.precision_plugin.forward_context,
        )
        correct = trainer.strategy.reduce(correct, reduce_op="sum").cpu()
        total = trainer.strategy.reduce(total, reduce_op="sum").cpu()
        totals = {name: int(total[i]) for i, name in enumerate(names)}
        empty = [name for name, count in totals.items() if count == 0]
        if empty:
            raise ValueError(f"tasks {empty}: evaluation set is empty; cannot measure accuracy.")
        return {a: {n: int(correct[i, j]) for i, n in enumerate(names)} for j, a in enumerate(alphas)}, totals

    def _zero_shot_accuracy(self) -> dict[str, float]:
        return {n: 100.0 * c / t for n, (c, t) in self.zero_shot_counts.items()}

    def _due(self, trainer: Trainer) -> bool:
        return (trainer.current_epoch + 1) % self.every_n_epochs == 0

    def _swept_now(self, trainer: Trainer) -> bool:
        return bool(self.history) and self.history[-1]["global_step"] == trainer.global_step

    def _criterion_text(self) -> str:
        if self.criterion == "mean":
            return "max mean(patch accuracy, support accuracy)"
        which = "the support tasks on average" if self.criterion == "constrained_mean" else "every support task"
        return f"max patch accuracy with {which} within {self.max_support_drop:g} points of zero-shot"

    def _log(
        self,
        trainer: Trainer,
        pl_module: Any,
        record: dict[str, Any],
        zero_shot: dict[str, float],
        loggable: bool,
    ) -> None:
        alpha = record["selected_alpha"]
        index = record["alphas"].index(alpha)
        scalars = {"paint/alpha_star": alpha, "paint/patched/patch_mean": record["patch_accuracy"][index]}
        if record["objective"][index] is not None:
            scalars["paint/objective"] = record["objective"][index]
        if record["support_accuracy"][index] is not None:
            scalars["paint/patched/support_mean"] = record["support_accuracy"][index]
        for name, acc in at_alpha(record, alpha).items():
            scalars[f"paint/patched/{name}"] = acc
            if record["alphas"][-1] == 1.0:
                scalars[f"paint/fine_tuned/{name}"] = record["tasks"][name]["accuracy"][-1]
            scalars[f"paint/zero_shot/{name}"] = zero_shot[name]
        if loggable:
            for key, value in scalars.items():
                pl_module.log(key, float(value), rank_zero_only=True)
        elif trainer.logger is not None:
            trainer.logger.log_metrics(scalars, step=trainer.global_step)
        if self.log_figures and trainer.is_global_zero:
            for logger in trainer.loggers:
                log_to_tensorboard(logger, record)
        rank_zero_info(
            f"Epoch {record['epoch']}: alpha* = {alpha:g}, patch {record['patch_accuracy'][index]:.2f}%"
            + (
                f", support {record['support_accuracy'][index]:.2f}%"
                if record["support_accuracy"][index] is not None
                else ""
            )
        )

    def _write_report(self, trainer: Trainer) -> None:
        if not trainer.is_global_zero or not self.history:
            return
        latest = self.history[-1]
        report = {
            **latest,
            "zero_shot": self._zero_shot_accuracy(),
            "history": [
                {
                    "epoch": r["epoch"],
                    "global_step": r["global_step"],
                    "selected_alpha": r["selected_alpha"],
                    "patch_accuracy": r["patch_accuracy"][r["alphas"].index(r["selected_alpha"])],
                    "support_accuracy": r["support_accuracy"][r["alphas"].index(r["selected_alpha"])],
                }
                for r in self.history
            ],
        }
        if self.test_result is not None:
            report["test"] = self.test_result
        write_json(self._directory(trainer) / REPORT, report)

    def _export(self, trainer: Trainer, pl_module: Any, alpha: float) -> Path:
        record = self.history[-1]
        index = record["alphas"].index(alpha)
        meta = {
            "model": pl_module.hparams.clip,
            "alpha": alpha,
            "criterion": record["criterion"],
            "epoch": record["epoch"],
            "global_step": record["global_step"],
            "tasks": {
                spec.name: {
                    "role": spec.role,
                    "classnames": spec.classnames,
                    "templates": spec.templates,
                    "heldout_accuracy": {
                        "zero_shot": self._zero_shot_accuracy()[spec.name],
                        "fine_tuned": record["tasks"][spec.name]["accuracy"][-1],
                        "patched": record["tasks"][spec.name]["accuracy"][index],
                    },
                    "test_accuracy": (self.test_result or {}).get("tasks", {}).get(spec.name),
                }
                for spec in pl_module.task_specs
            },
        }
        state = pl_module.patched_state_dict(alpha)
        return export_patched(state, self._directory(trainer), meta, pl_module.model_cfg, pl_module.preprocess_cfg)

    def _directory(self, trainer: Trainer) -> Path:
        # Normally resolved in setup() on every process; the fallback serves direct calls.
        return self.output_dir or Path(trainer.log_dir or trainer.default_root_dir)


def _validate(
    alphas: list[float],
    every_n_epochs: int,
    criterion: str,
    max_support_drop: float | None,
    allow_extrapolation: bool,
    resolution: float,
) -> None:
    if not alphas:
        raise ValueError("sweep.alphas is empty; give at least one alpha, e.g. [0.0, 0.1, ..., 1.0].")
    outside = [a for a in alphas if not 0.0 <= a <= 1.0]
    if outside and not allow_extrapolation:
        raise ValueError(
            f"sweep.alphas has {outside} outside [0, 1]; these extrapolate beyond the zero-shot or "
            "fine-tuned model. Set sweep.allow_extrapolation=true if that is intended."
        )
    if every_n_epochs < 1:
        raise ValueError(f"sweep.every_n_epochs={every_n_epochs}: must be at least 1.")
    if criterion not in CRITERIA:
        raise ValueError(f"sweep.criterion={criterion!r}: use one of {', '.join(CRITERIA)}.")
    if criterion != "mean" and (max_support_drop is None or max_support_drop < 0):
        raise ValueError(
            f"sweep.max_support_drop={max_support_drop}: criterion {criterion!r} needs a "
            "non-negative number of points, e.g. 1.0."
        )
    if resolution <= 0:
        raise ValueError(f"sweep.resolution={resolution}: must be positive, e.g. 0.01.")


def _percent(correct: dict[float, dict[str, int]], totals: dict[str, int]) -> dict[float, dict[str, float]]:
    return {a: {n: 100.0 * c / totals[n] for n, c in row.items()} for a, row in correct.items()}
