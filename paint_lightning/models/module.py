"""The LightningModule: an open_clip CLIP whose image tower is fine-tuned under frozen zero-shot heads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor, nn
from torchmetrics import MeanMetric

from paint_lightning.data.tasks import TaskSpec
from paint_lightning.engine.mixed_state import state_at_mix
from paint_lightning.engine.protocol import OpenCLIPExport
from paint_lightning.interpolation.mix import Mix
from paint_lightning.models.checkpoints_compat import check_task_specs, migrate_state_dict
from paint_lightning.models.clip_source import CLIPSource, build_clip
from paint_lightning.models.heads import HeadCache, zero_shot_heads
from paint_lightning.models.hparams import non_finite_message, validate_hparams
from paint_lightning.models.lr_schedule import Schedule, schedule_factor
from paint_lightning.models.sharding import shard_towers
from paint_lightning.models.snapshot import StartPoint
from paint_lightning.models.tally import EvalTally

DEFAULT_HEAD_CACHE = "~/.cache/paint_lightning/heads"


class PaintModule(EvalTally, LightningModule):
    """Fine-tunes the image tower of an open_clip CLIP under frozen text-derived heads.

    ``clip.visual`` is trained; ``start_point`` (a :class:`~paint_lightning.models.snapshot.StartPoint`,
    made in ``configure_model`` before any step) is PAINT's theta_0, frozen, kept in its original
    precision and stored in every checkpoint, so resuming or testing never rebuilds it from a
    source that may have changed. Heads are frozen parameters built from the DataModule's tasks in
    ``configure_model`` (:func:`~paint_lightning.models.heads.zero_shot_heads`, cached) and stored in
    checkpoints. The text tower is frozen and never given to the optimizer. The module implements
    the engine's :class:`~paint_lightning.engine.protocol.Patchable` protocol.

    Args:
        clip: Which CLIP to build (see :class:`~paint_lightning.models.clip_source.CLIPSource`).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: Linear warm-up steps before the cosine decay.
        scheduler: ``cosine`` (warm-up, then cosine decay to 0) or ``constant`` (warm-up, then flat).
        label_smoothing: Cross-entropy label smoothing, in ``[0, 1)``.
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
        scheduler: Schedule = "cosine",
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
        validate_hparams(lr, weight_decay, warmup_steps, scheduler, label_smoothing, head_logit_scale)
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
        self.clip_origin = built.origin  # the model and where its weights came from (the build line)
        self.clip.requires_grad_(False)
        self.clip.visual.requires_grad_(True)
        if grad_checkpointing:
            self.clip.visual.set_grad_checkpointing(True)
        self.start_point: StartPoint | None = None  # made in configure_model
        self.heads = nn.ParameterDict()
        self.task_specs: list[TaskSpec] = [TaskSpec(**task) for task in tasks or []]
        self.train_acc = MeanMetric()
        self.train()  # build_clip returns eval mode; the trainer keeps whatever mode it finds
        # A held-out set smaller than the number of processes leaves some shards empty; the counts
        # are summed over all processes, so that is fine.
        self.allow_zero_length_dataloader_with_multiple_devices = True

    # -- the model and its start point ------------------------------------------------------------

    def configure_model(self) -> None:
        """Builds the tasks' heads, snapshots the start point (once), then compiles and shards.

        Runs before any training step (the Trainer calls it after ``setup``; ``WeightAveraging``
        calls it before copying the model), so the copy of the tower taken here is theta_0. Under a
        strategy that provides a device mesh (Lightning's ``ModelParallelStrategy``, i.e. FSDP2),
        the live tower and its start point are sharded alike, block by block, so that
        interpolation runs on local shards.
        """
        if self._trainer is not None:
            datamodule = getattr(self._trainer, "datamodule", None)
            specs = datamodule.task_specs() if callable(getattr(datamodule, "task_specs", None)) else self.task_specs
            if not specs:
                raise RuntimeError("PaintModule has no tasks: use it with a PaintDataModule or pass `tasks`.")
            self.set_tasks(specs, device=self._trainer.strategy.root_device)
        if self.start_point is not None:
            return
        self.start_point = StartPoint(self.clip.visual)
        if self.hparams.compile:
            self.clip.visual.compile()
        if self.device_mesh is not None:
            shard_towers(self, self.device_mesh)

    def patch_towers(self) -> tuple[nn.Module, nn.Module]:
        """``(live image tower, start point)``: what the engine combines (the Patchable protocol)."""
        self.configure_model()
        assert self.start_point is not None
        return self.clip.visual, self.start_point.tower

    def export_open_clip(self, state: Mapping[str, Tensor]) -> OpenCLIPExport:
        """The open_clip checkpoint in this module's full state dict ``state`` (its :meth:`exported_key` keys)."""
        weights = {key[len("clip.") :]: value for key, value in state.items() if self.exported_key(key)}
        return OpenCLIPExport(weights, dict(self.model_cfg), dict(self.preprocess_cfg))

    def patched_state_dict(self, mix: Mix | float) -> dict[str, Tensor]:
        """A full open_clip state dict (CPU) with the image tower at ``mix``; one process only.

        The weights are made by the same in-place code the sweep evaluates with.
        """
        mix = mix if isinstance(mix, Mix) else Mix.of(mix)
        return self.export_open_clip(state_at_mix(self, mix, wanted=self.exported_key)).state_dict

    @staticmethod
    def exported_key(key: str) -> bool:
        """Whether a key of this module's state dict is in the open_clip export (the CLIP model's)."""
        return key.startswith("clip.")

    # -- tasks and heads -------------------------------------------------------------------------

    def set_tasks(self, specs: Sequence[TaskSpec], device: torch.device | str | None = None) -> None:
        """Builds (or loads from the cache) a frozen zero-shot head for every task without one.

        Heads that already exist for the same task and class count are kept: they may have been
        restored from a checkpoint, which is the source of truth (and is checked against the
        tasks it was made for when it is loaded).
        """
        specs = list(specs)
        todo = [s for s in specs if s.name not in self.heads or self.heads[s.name].shape[0] != len(s.classnames)]
        built = zero_shot_heads(
            self.clip, self.tokenizer, self.model_cfg, todo, HeadCache(self.hparams.head_cache_dir), device
        )
        for name, head in built.items():
            if self.hparams.head_logit_scale is not None:
                head = F.normalize(head, dim=-1) * self.hparams.head_logit_scale
            self.heads[name] = nn.Parameter(head.to(self.clip.logit_scale.device), requires_grad=False)
        self.task_specs = specs

    def task_index(self, name: str) -> int:
        """Position of a task in :attr:`task_specs`."""
        return [spec.name for spec in self.task_specs].index(name)

    def image_features(self, images: Tensor) -> Tensor:
        """L2-normalised image embeddings from the (live) image tower (CoCa's pooled one, not its tokens)."""
        features = self.clip.visual(images)
        return F.normalize(features[0] if isinstance(features, tuple) else features, dim=-1)

    def logits(self, features: Tensor, task: str) -> Tensor:
        """Zero-shot logits of normalised ``features`` for ``task``.

        ``features @ head.T`` (the head carries the logit scale), plus the model's logit bias for
        sigmoid models (SigLIP) unless ``head_logit_scale`` replaces the scale: the model's own
        image-text logits. A bias shared by every class changes neither the argmax nor the
        cross-entropy, so accuracy and fine-tuning are the same with or without it.
        """
        logits = features @ self.heads[task].to(features.dtype).t()
        bias = getattr(self.clip, "logit_bias", None)
        if bias is not None and self.hparams.head_logit_scale is None:
            logits = logits + bias.to(logits.dtype)
        return logits

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
            raise FloatingPointError(non_finite_message(self, loss.item(), batch_idx))
        self.train_acc(torch.cat(correct))
        batch_size = labels.shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        self.log("train/acc", self.train_acc, prog_bar=True, on_step=True, on_epoch=True, batch_size=batch_size)
        return loss

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
        name = self.hparams.scheduler
        lr_lambda = lambda step: schedule_factor(name, step, warmup, total)  # noqa: E731
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # -- checkpoints -----------------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Stores the task specs (plain data) beside the heads they made."""
        checkpoint["paint_tasks"] = [spec.to_dict() for spec in self.task_specs]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuses heads made for other tasks; recreates heads so the checkpoint defines them."""
        state = checkpoint.setdefault("state_dict", {})
        checkpoint["state_dict"] = migrate_state_dict(state)
        state = checkpoint["state_dict"]
        saved = [TaskSpec(**task) for task in checkpoint.get("paint_tasks", [])]
        check_task_specs(saved, self.task_specs)
        for spec in saved:
            key = f"heads.{spec.name}"
            if key in state and (spec.name not in self.heads or self.heads[spec.name].shape != state[key].shape):
                self.heads[spec.name] = nn.Parameter(torch.empty_like(state[key]), requires_grad=False)
        for name, head in self.heads.items():  # tasks new since the checkpoint keep their fresh heads
            state.setdefault(f"heads.{name}", head.detach().clone())
        if not self.task_specs and saved:
            self.task_specs = saved
