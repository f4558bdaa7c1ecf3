"""A LightningDataModule of captioned world images for contrastive pretraining."""

from __future__ import annotations

import multiprocessing
from functools import partial

import lightning.pytorch as pl
import numpy as np
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from torch.utils.data import DataLoader, Sampler, TensorDataset
from typing_extensions import override

from paint_lightning.world.captions import world_sample
from paint_lightning.world.scenes import FAMILY_SIZE
from paint_lightning.world.tokens import tokenizer


def _render_chunk(indices: range, seed: int, digit_share: float, lowres_prob: float):
    images, captions = [], []
    for index in indices:
        image, caption = world_sample(seed, index, digit_share, lowres_prob)
        images.append(np.asarray(image, dtype=np.uint8))
        captions.append(caption)
    return np.stack(images), captions


class FamilySampler(Sampler[int]):
    """Shuffles whole families of ``family_size`` consecutive indices, keeping each together.

    Args:
        num_samples: Length of the data set (a multiple of ``family_size``).
        family_size: Images per family.
        seed: Seed of the order; each epoch draws a new order from the same generator.
    """

    def __init__(self, num_samples: int, family_size: int, seed: int) -> None:
        self.num_samples = num_samples - num_samples % family_size
        self.family_size = family_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        families = torch.randperm(self.num_samples // self.family_size, generator=self.generator)
        offsets = torch.arange(self.family_size)
        return iter((families[:, None] * self.family_size + offsets).flatten().tolist())


class WorldCaptionData(pl.LightningDataModule):
    """``num_samples`` world images with captions, rendered once and kept in memory as uint8.

    Image ``i`` depends only on ``(seed, i)``, so the data set is identical however many
    processes render it. Batches are normalised with the OpenAI CLIP mean and std, as
    ``open_clip.image_transform`` does, so the pretrained model matches open_clip's transforms.

    Args:
        num_samples: Images in the training set.
        batch_size: Contrastive batch size.
        seed: Seed of the world (and of the shuffling order).
        digit_share: Fraction of digit-glyph images.
        lowres_prob: Fraction of digit glyphs degraded to a low resolution.
        context_length: Token context length; must equal the model's.
        render_processes: Processes used to render the images once at set-up.
    """

    def __init__(
        self,
        num_samples: int = 60000,
        batch_size: int = 256,
        seed: int = 0,
        digit_share: float = 0.3,
        lowres_prob: float = 0.15,
        context_length: int = 16,
        render_processes: int = 2,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.images: torch.Tensor | None = None
        self.tokens: torch.Tensor | None = None
        self._mean = torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
        self._std = torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1)

    def setup(self, stage: str | None = None) -> None:
        """Renders and tokenises the whole set once."""
        if self.images is not None:
            return
        hp = self.hparams
        chunk = 2000
        chunks = [range(i, min(i + chunk, hp.num_samples)) for i in range(0, hp.num_samples, chunk)]
        work = partial(_render_chunk, seed=hp.seed, digit_share=hp.digit_share, lowres_prob=hp.lowres_prob)
        if hp.render_processes > 1 and len(chunks) > 1:
            with multiprocessing.get_context("fork").Pool(hp.render_processes) as pool:
                parts = pool.map(work, chunks)
        else:
            parts = [work(c) for c in chunks]
        self.images = torch.from_numpy(np.concatenate([p[0] for p in parts])).permute(0, 3, 1, 2).contiguous()
        self.captions = [c for p in parts for c in p[1]]
        self.tokens = tokenizer(hp.context_length)(self.captions)

    def token_ids(self) -> set[int]:
        """Token ids used by the captions (after :meth:`setup`)."""
        if self.tokens is None:
            raise RuntimeError("call setup() before token_ids()")
        return set(torch.unique(self.tokens).tolist()) - {0}

    @override
    def train_dataloader(self) -> DataLoader:
        if self.hparams.batch_size % FAMILY_SIZE:
            raise ValueError(f"data.batch_size must be a multiple of {FAMILY_SIZE} (the family size)")
        return DataLoader(
            TensorDataset(self.images, self.tokens),
            batch_size=self.hparams.batch_size,
            sampler=FamilySampler(len(self.images), FAMILY_SIZE, self.hparams.seed),
            drop_last=True,
        )

    @override
    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images, tokens = batch
        mean = self._mean.to(images.device)
        std = self._std.to(images.device)
        return (images.float() / 255 - mean) / std, tokens
