"""A ``Trainer.fit`` and a bare PyTorch training loop, interleaved step by step in one process.

A callback of the fit takes one bare step before each Trainer step and times both (A B A B ...),
so load from other jobs hits both alike. The first ``skip`` steps of each (worker start-up, first
allocations, Lightning's one-time set-up) are not counted. A Trainer step is everything the fit
loop does from one batch to the next (fetch, hooks, logging, clipping, scheduler, optimizer); a
bare step is a fetch from its own loader plus forward, backward, clipping, AdamW and scheduler.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from common import sync
from lightning.pytorch import Callback, LightningModule, Trainer

from paint_lightning import PaintDataModule, PaintModule

DataModuleFactory = Callable[[PaintModule], PaintDataModule]


class BareLoop:
    """The reference code's training step (fp32), one batch at a time, over its own loader."""

    def __init__(self, template: PaintModule, datamodule: PaintDataModule, device: str, total_steps: int) -> None:
        module = copy.deepcopy(template).to(device)
        warmup = module.hparams.warmup_steps
        self.device = device
        self.visual, self.head = module.clip.visual.train(), module.heads["patch"]
        self.params = [p for p in self.visual.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=module.hparams.lr, weight_decay=module.hparams.weight_decay)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: cosine(s, warmup, total_steps))
        self.batches = iter(datamodule.train_dataloader())

    def step(self) -> None:
        """Fetches a batch and takes one optimizer step."""
        try:
            images, labels, _ = next(self.batches)
        except StopIteration:  # raised inside a Trainer hook it would end epochs, not the fit
            raise RuntimeError("the bare loop's loader ran out of batches; give it more data") from None
        images = images.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        loss = F.cross_entropy(F.normalize(self.visual(images), dim=-1) @ self.head.t(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step()
        self.schedule.step()


def cosine(step: int, warmup: int, total: int) -> float:
    """Linear warm-up, then cosine decay to 0 (the reference code's schedule)."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1.0 + math.cos(math.pi * min((step - warmup) / max(total - warmup, 1), 1.0)))


class Interleaved(Callback):
    """Before each Trainer step, one bare step; records both step times (seconds)."""

    def __init__(self, make_bare: Callable[[], BareLoop], skip: int) -> None:
        self.make_bare = make_bare
        self.skip = skip
        self.bare: BareLoop | None = None
        self.ours: list[float] = []
        self.theirs: list[float] = []
        self._mark = 0.0

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.bare = self.make_bare()

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        assert self.bare is not None
        sync()
        now = time.perf_counter()
        if batch_idx > self.skip:
            self.ours.append(now - self._mark)
        self.bare.step()
        sync()
        self._mark = time.perf_counter()
        if batch_idx >= self.skip:
            self.theirs.append(self._mark - now)


def paired_fit(
    template: PaintModule,
    root: Path,
    datamodule: DataModuleFactory,
    steps: int,
    skip: int,
    device: str = "cpu",
    **trainer_kwargs: Any,
) -> Interleaved:
    """A fit of a copy of ``template`` (``paint fit``'s Trainer defaults, nothing printed) with a
    bare loop over another copy interleaved; ``steps - skip`` step pairs are timed."""

    def make_bare() -> BareLoop:
        data = datamodule(template)
        data.setup("fit")
        return BareLoop(template, data, device, steps + 1)

    timer = Interleaved(make_bare, skip)
    trainer = Trainer(
        accelerator=device,
        devices=1,
        max_steps=steps + 1,
        gradient_clip_val=1.0,  # what `paint fit` sets
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=root,
        callbacks=[timer],
        **trainer_kwargs,
    )
    module = copy.deepcopy(template)
    trainer.fit(module, datamodule(module))
    return timer
