"""Contrastive (CLIP) pretraining of a small open_clip model as a LightningModule."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import lightning.pytorch as pl
import open_clip
import torch
import torch.nn.functional as F
from typing_extensions import override

from paint_lightning.models.lr_schedule import warmup_cosine


def multi_positive_clip_loss(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    tokens: torch.Tensor,
    logit_scale: torch.Tensor,
) -> torch.Tensor:
    """Symmetric InfoNCE where every pair with an identical caption counts as a positive.

    Without duplicate captions this is open_clip's ``ClipLoss``. With them, the target of an
    image is spread evenly over all texts equal to its own caption (and vice versa), so the
    loss does not push apart images that the captions cannot tell apart.

    Args:
        image_features: L2-normalised image embeddings, ``(B, D)``.
        text_features: L2-normalised text embeddings, ``(B, D)``.
        tokens: Caption token ids, ``(B, L)``; equal rows are duplicates.
        logit_scale: The (already exponentiated) temperature.
    """
    logits = logit_scale * image_features @ text_features.T
    same = (tokens[:, None, :] == tokens[None, :, :]).all(-1).float()
    targets = same / same.sum(1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


class WorldCLIPPretraining(pl.LightningModule):
    """Trains an ``open_clip.CLIP`` built from ``model_cfg`` with a contrastive loss.

    Args:
        model_cfg: open_clip model config: ``embed_dim``, ``vision_cfg``, ``text_cfg``, ...
        lr: Peak learning rate of AdamW.
        weight_decay: AdamW weight decay (not applied to gains, biases, embeddings, scale).
        warmup_steps: Linear warm-up steps before the cosine decay.
        betas: AdamW betas.
        max_logit_scale: Ceiling of the learned temperature ``logit_scale.exp()``.
        duplicates_positive: Count identical captions in a batch as positives.
    """

    def __init__(
        self,
        model_cfg: dict[str, Any],
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        warmup_steps: int = 100,
        betas: tuple[float, float] = (0.9, 0.98),
        max_logit_scale: float = 100.0,
        duplicates_positive: bool = True,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = open_clip.CLIP(**model_cfg)

    @property
    def context_length(self) -> int:
        """The text tower's context length."""
        return int(self.model.context_length)

    @override
    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        data_ctx = getattr(getattr(datamodule, "hparams", None), "context_length", None)
        if data_ctx is not None and data_ctx != self.context_length:
            raise ValueError(
                f"data.context_length={data_ctx} differs from the model's text context length "
                f"{self.context_length} (model.model_cfg.text_cfg.context_length); make them equal"
            )

    @override
    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        images, tokens = batch
        image_features = self.model.encode_image(images, normalize=True)
        text_features = self.model.encode_text(tokens, normalize=True)
        scale = self.model.logit_scale.exp()
        if self.hparams.duplicates_positive:
            loss = multi_positive_clip_loss(image_features, text_features, tokens, scale)
        else:
            labels = torch.arange(len(images), device=images.device)
            logits = scale * image_features @ text_features.T
            loss = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
        self.log("train/loss", loss, prog_bar=True, batch_size=len(images))
        self.log("train/logit_scale", scale, batch_size=len(images))
        return loss

    @override
    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # Same clamp as open_clip's trainer: the temperature may not exceed max_logit_scale.
        with torch.no_grad():
            self.model.logit_scale.clamp_(0, math.log(self.hparams.max_logit_scale))

    @override
    def configure_optimizers(self) -> dict[str, Any]:
        decay, no_decay = [], []
        for name, param in self.model.named_parameters():
            plain = param.ndim < 2 or "embedding" in name or "logit_scale" in name
            (no_decay if plain else decay).append(param)
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.hparams.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.hparams.lr,
            betas=tuple(self.hparams.betas),
            eps=1e-6,
        )
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = min(self.hparams.warmup_steps, total // 2)
        factor = partial(warmup_cosine, warmup=warmup, total=total)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
