"""The pretraining DataModule: rendering, tokenising, family-preserving shuffles."""

import numpy as np
import pytest
import torch

from paint_lightning.world.caption_data import FamilySampler, WorldCaptionData
from paint_lightning.world.captions import world_sample
from paint_lightning.world.scenes import FAMILY_SIZE


def test_family_sampler_shuffles_whole_families():
    order = list(FamilySampler(num_samples=40, family_size=4, seed=0))
    assert sorted(order) == list(range(40))
    assert order != list(range(40))
    for start in range(0, 40, 4):
        block = order[start : start + 4]
        assert block == list(range(block[0], block[0] + 4)) and block[0] % 4 == 0
    assert order == list(FamilySampler(40, 4, seed=0))
    assert order != list(FamilySampler(40, 4, seed=1))


def test_datamodule_renders_the_world_and_normalises_batches():
    data = WorldCaptionData(num_samples=16, batch_size=8, seed=3, render_processes=1)
    data.setup("fit")
    assert data.images.shape == (16, 3, 32, 32) and data.images.dtype == torch.uint8
    image, caption = world_sample(3, 5)
    assert torch.equal(data.images[5], torch.from_numpy(np.array(image)).permute(2, 0, 1))
    assert data.captions[5] == caption
    assert data.tokens.shape == (16, 16)
    images, tokens = data.on_after_batch_transfer(next(iter(data.train_dataloader())), 0)
    assert images.dtype == torch.float32 and images.shape == (8, 3, 32, 32)
    assert -2.0 < images.min() < 0 < images.max() < 2.2  # OpenAI mean/std normalisation
    assert tokens.shape == (8, 16)
    assert {49406, 49407} <= data.token_ids()  # start and end of text


def test_batch_size_must_hold_whole_families():
    data = WorldCaptionData(num_samples=16, batch_size=FAMILY_SIZE + 1, render_processes=1)
    data.setup("fit")
    with pytest.raises(ValueError, match="batch_size"):
        data.train_dataloader()
