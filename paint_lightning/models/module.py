"""The LightningModule: an open_clip CLIP whose image tower is fine-tuned under frozen zero-shot heads."""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor, nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from paint_lightning.data.tasks import TaskSpec
from paint_lightning.interpolation.weights import interpolate_state
from paint_lightning.models.heads import HeadCache, build_zero_shot_head, text_tower_fingerprint
from paint_lightning.models.source import CLIPSource, build_clip

log = logging.getLogger(__name__)

DEFAULT_HEAD_CACHE = "~/.cache/paint_lightning/heads"


class PaintModule(LightningModule):
    """Fine-tunes the image tower of an open_clip CLIP under frozen text-derived heads.

    The module keeps two copies of the image tower: ``clip.visual`` (trained) and
    ``zero_shot_visual`` (the starting point, frozen, never run). The latter is taken when the
    model is built, before any step, and travels in every checkpoint, so resuming or testing
    never rebuilds it from a source that may have changed. Heads are frozen parameters built from
    the DataModule's tasks at ``setup`` (from a cache keyed by the text tower's weights) and are
    also stored in checkpoints. The text tower is frozen and never given to the optimizer.

    Args:
        clip: Which CLIP to build (see :class:`~paint_lightning.models.source.CLIPSource`).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: Linear warm-up steps before the cosine decay.
        scheduler: ``cosine`` (warm-up, then cosine decay to 0) or ``constant`` (warm-up, then flat).
        label_smoothing: Cross-entropy label smoothing.
        head_cache_dir: Cache of zero-shot heads (``null`` disables it).
        head_logit_scale: Temperature of the fine-tuning loss: heads are scaled by this instead of
            the model's learned logit scale (``null``, the default). OpenAI's CLIPs sit at 100;
            models whose learned scale is far lower fine-tune more aggressively than CLIP does.
            Predictions (argmax) and the exported model do not depend on it.
        grad_checkpointing: Recompute image-tower activations in the backward pass (saves memory
            on large towers at about a third more compute).
        check_finite: Stop with an explanation when the loss is NaN or infinite (costs one
            device-to-host sync per step).
        compile: ``torch.compile`` the image tower (state-dict keys are unchanged).
        tasks: Task specs (``name``, ``role``, ``classnames``, ``templates``); the ``paint`` CLI fills
            this from the DataModule. Without it, heads come from the DataModule at ``setup``.
    """

    def __init__(
        self,
        clip: CLIPSource | dict[str, Any],
        lr: float = 1e-5,
        weight_decay: float = 0.1,
        warmup_steps: int = 500,
        scheduler: Literal["cosine", "constant"] = "cosine",
        label_smoothing: float = 0.0,
        head_cache_dir: str | None = DEFAULT_HEAD_CACHE,
        head_logit_scale: float | None = None,
        grad_checkpointing: bool = False,
        check_finite: bool = True,
        compile: bool = False,
        tasks: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        clip = CLIPSource(**clip) if isinstance(clip, dict) else clip
        if lr <= 0:
            raise ValueError(f"model.lr={lr}: must be positive (the paper uses 1e-5).")
        if warmup_steps < 0:
            raise ValueError(f"model.warmup_steps={warmup_steps}: must be >= 0.")
        if head_logit_scale is not None and not head_logit_scale > 0:
            raise ValueError(
                f"model.head_logit_scale={head_logit_scale}: must be positive (CLIP uses 100), or null "
                "for the model's own logit scale."
            )
        # Plain data only, so checkpoints load with weights_only=True.
        self.save_hyperparameters(
            {
                "clip": clip.to_dict(),
                "lr": lr,
                "weight_decay": weight_decay,
                "warmup_steps": warmup_steps,
                "scheduler": scheduler,
                "label_smoothing": label_smoothing,
                "head_cache_dir": head_cache_dir,
                "head_logit_scale": head_logit_scale,
                "grad_checkpointing": grad_checkpointing,
                "check_finite": check_finite,
                "compile": compile,
                "tasks": tasks,
            }
        )
        built = build_clip(clip, "model.clip")
        self.clip = built.model
        self.preprocess_train = built.preprocess_train
        self.preprocess_eval = built.preprocess_eval
        self.tokenizer = built.tokenizer
        self.model_cfg = built.model_cfg
        self.preprocess_cfg = built.preprocess_cfg
        self.clip.requires_grad_(False)
        self.clip.visual.requires_grad_(True)
        if grad_checkpointing:
            self.clip.visual.set_grad_checkpointing(True)
        self.zero_shot_visual = copy.deepcopy(self.clip.visual).requires_grad_(False).eval()
        if compile:
            self.clip.visual.compile()
        self.heads = nn.ParameterDict()
        self.task_specs: list[TaskSpec] = [TaskSpec(**task) for task in tasks or []]
        self.val_metrics = nn.ModuleDict()
        self.test_metrics = nn.ModuleDict()
        self.train_acc = MeanMetric()
        self.train()  # build_clip returns eval mode; the trainer keeps whatever mode it finds

    # -- tasks and heads -------------------------------------------------------------------------

    def setup(self, stage: str) -> None:
        """Builds the heads of the tasks (the DataModule's, else ``tasks``) unless they exist."""
        datamodule = getattr(self.trainer, "datamodule", None)
        specs = datamodule.task_specs() if hasattr(datamodule, "task_specs") else self.task_specs
        if not specs:
            raise RuntimeError("PaintModule has no tasks: use it with a PaintDataModule or pass `tasks`.")
        self.set_tasks(specs, device=self.trainer.strategy.root_device)

    def set_tasks(self, specs: Sequence[TaskSpec], device: torch.device | str | None = None) -> None:
        """Builds (or loads from the cache) a frozen zero-shot head for every task.

        Heads that already exist for the same task and class count are kept: they may have been
        restored from a checkpoint, which is the source of truth.
        """
        specs = list(specs)
        cache = HeadCache(self.hparams.head_cache_dir)
        fingerprint: str | None = None
        for spec in specs:
            existing = self.heads.get(spec.name)
            if existing is not None and existing.shape[0] == len(spec.classnames):
                continue
            if fingerprint is None:
                fingerprint = text_tower_fingerprint(self.clip)
            key = HeadCache.key(fingerprint, type(self.tokenizer).__name__, spec.classnames, spec.templates)
            head = cache.get_or_build(key, lambda spec=spec: self._build_head(spec, device))
            if self.hparams.head_logit_scale is not None:
                head = F.normalize(head, dim=-1) * self.hparams.head_logit_scale
            self.heads[spec.name] = nn.Parameter(head.to(self.clip.logit_scale.device), requires_grad=False)
        self.task_specs = specs
        self._add_metrics()

    def _build_head(self, spec: TaskSpec, device: torch.device | str | None) -> Tensor:
        text_device = next(self.clip.parameters()).device
        target = torch.device(device) if device is not None else text_device
        was_training = self.clip.training
        self.clip.to(target).eval()
        try:
            return build_zero_shot_head(self.clip, self.tokenizer, spec.classnames, spec.templates, target)
        finally:
            self.clip.to(text_device).train(was_training)

    def task_index(self, name: str) -> int:
        """Position of a task in :attr:`task_specs`."""
        return [spec.name for spec in self.task_specs].index(name)

    # -- the model -------------------------------------------------------------------------------

    def image_features(self, images: Tensor) -> Tensor:
        """L2-normalised image embeddings from the (live) image tower."""
        return F.normalize(self.clip.visual(images), dim=-1)

    def logits(self, features: Tensor, task: str) -> Tensor:
        """Zero-shot logits of normalised ``features`` for ``task``."""
        head = self.heads[task]
        return features @ head.to(features.dtype).t()

    def forward(self, images: Tensor, task: str) -> Tensor:
        """Logits of ``images`` for ``task``."""
        return self.logits(self.image_features(images), task)

    # -- steps -----------------------------------------------------------------------------------

    def training_step(self, batch: Sequence[Tensor], batch_idx: int) -> Tensor:
        """Cross-entropy of every sample under its own task's head."""
        images, labels, task_ids = batch
        features = self.image_features(images)
        patch = [spec.name for spec in self.task_specs if spec.role == "patch"]
        if len(patch) == 1:
            groups = [(patch[0], slice(None))]
        else:
            groups = [(self.task_specs[int(t)].name, task_ids == t) for t in task_ids.unique()]
        loss = features.new_zeros(())
        correct = []
        for task, rows in groups:
            logits = self.logits(features[rows], task)
            target = labels[rows]
            loss = loss + F.cross_entropy(
                logits.float(), target, reduction="sum", label_smoothing=self.hparams.label_smoothing
            )
            correct.append((logits.argmax(dim=-1) == target).float())
        loss = loss / labels.shape[0]
        if self.hparams.check_finite and not torch.isfinite(loss):
            raise FloatingPointError(self._non_finite_message(loss, batch_idx))
        self.train_acc(torch.cat(correct))
        batch_size = labels.shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        self.log("train/acc", self.train_acc, prog_bar=True, on_step=True, on_epoch=True, batch_size=batch_size)
        return loss

    def validation_step(self, batch: Sequence[Tensor], batch_idx: int, dataloader_idx: int = 0) -> Tensor:
        """Loss and accuracy of the live weights on one held-out set."""
        return self._eval_step(batch, dataloader_idx, "val", self.val_metrics)

    def test_step(self, batch: Sequence[Tensor], batch_idx: int, dataloader_idx: int = 0) -> Tensor:
        """Accuracy of the live weights on one test set."""
        return self._eval_step(batch, dataloader_idx, "test", self.test_metrics)

    def _eval_step(self, batch: Sequence[Tensor], dataloader_idx: int, split: str, metrics: nn.ModuleDict) -> Tensor:
        images, labels = batch[0], batch[1]
        task = self.task_specs[dataloader_idx].name
        logits = self(images, task)
        loss = F.cross_entropy(logits.float(), labels)
        metrics[task](logits, labels)
        kwargs = {"batch_size": labels.shape[0], "add_dataloader_idx": False}
        self.log(f"{split}/{task}/acc", metrics[task], on_epoch=True, **kwargs)
        self.log(f"{split}/{task}/loss", loss, on_epoch=True, sync_dist=True, **kwargs)
        return loss

    def _non_finite_message(self, loss: Tensor, batch_idx: int) -> str:
        trainer = self.trainer
        callback = trainer.checkpoint_callback if trainer is not None else None
        last = getattr(callback, "last_model_path", "") or getattr(callback, "best_model_path", "")
        kept = f"The last good checkpoint, {last}, is kept." if last else "No checkpoint was saved yet."
        return (
            f"Training stopped: the loss is {loss.item()} at global step {self.global_step} "
            f"(epoch {self.current_epoch}, batch {batch_idx}). Try a lower model.lr (now "
            f"{self.hparams.lr:g}), keep trainer.gradient_clip_val set (now "
            f"{trainer.gradient_clip_val if trainer is not None else None}), more model.warmup_steps, or "
            f"trainer.precision=32-true if you use 16-bit precision. {kept}"
        )

    # -- optimisation ----------------------------------------------------------------------------

    def configure_optimizers(self) -> Any:
        """AdamW over the image tower, linear warm-up then cosine (or constant) schedule."""
        params = [p for p in self.clip.visual.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warmup = self.hparams.warmup_steps
        if warmup >= total:
            rank_zero_warn(
                f"model.warmup_steps={warmup} is not below the run's {total} optimizer steps; "
                f"using {total // 10} warm-up steps instead. Lower model.warmup_steps to silence this."
            )
            warmup = total // 10
        schedule = warmup_cosine if self.hparams.scheduler == "cosine" else _warmup_constant
        lr_lambda = lambda step: schedule(step, warmup, total)  # noqa: E731
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # -- weights ---------------------------------------------------------------------------------

    def interpolation_tensors(self) -> tuple[list[Tensor], list[Tensor]]:
        """Matching ``(live, zero_shot)`` floating-point tensors of the image tower."""
        live = _float_tensors(self.clip.visual)
        start = _float_tensors(self.zero_shot_visual)
        return live, start

    def patched_state_dict(self, alpha: float) -> dict[str, Tensor]:
        """A full open_clip CLIP state dict with the image tower at ``alpha`` (on the CPU)."""
        state = {k: v.detach().cpu() for k, v in self.clip.state_dict().items()}
        start = {f"visual.{k}": v.detach().cpu() for k, v in self.zero_shot_visual.state_dict().items()}
        end = {k: state[k] for k in start}
        state.update(interpolate_state(start, end, alpha))
        return state

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Stores the task specs (plain data) beside the heads."""
        checkpoint["paint_tasks"] = [spec.to_dict() for spec in self.task_specs]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Recreates heads from the checkpoint so that it, not the current data, defines them."""
        tasks = checkpoint.get("paint_tasks", [])
        state = checkpoint.get("state_dict", {})
        for task in tasks:
            key = f"heads.{task['name']}"
            if key in state and (task["name"] not in self.heads or self.heads[task["name"]].shape != state[key].shape):
                self.heads[task["name"]] = nn.Parameter(torch.empty_like(state[key]), requires_grad=False)
        if not self.task_specs and tasks:
            self.task_specs = [TaskSpec(**task) for task in tasks]
            self._add_metrics()

    def _add_metrics(self) -> None:
        for spec in self.task_specs:
            for metrics in (self.val_metrics, self.test_metrics):
                if spec.name not in metrics:
                    metrics[spec.name] = MulticlassAccuracy(len(spec.classnames), average="micro")


def _float_tensors(module: nn.Module) -> list[Tensor]:
    tensors = [p for p in module.parameters()] + [b for b in module.buffers() if b.is_floating_point()]
    return [t.data for t in tensors]


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor at ``step``: linear warm-up over ``warmup`` steps, then cosine to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def _warmup_constant(step: int, warmup: int, total: int) -> float:
    return (step + 1) / warmup if step < warmup else 1.0
