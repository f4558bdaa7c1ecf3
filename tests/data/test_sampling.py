"""Joint patching: how several patch tasks share the epochs (proportional or balanced)."""

from collections import Counter

import pytest
from torchvision import transforms as T

from paint_lightning.data import PaintDataModule, Task
from paint_lightning.data.resumable import EpochSampler
from paint_lightning.data.sampling import BalancedEpochSampler, balanced_order
from paint_lightning.data.synthetic import ColourPatchSource


def _two_tasks(sampling: str, **kwargs) -> PaintDataModule:
    big = Task("big", ColourPatchSource(num_classes=3, num_train=90, num_test=8, seed=1))
    small = Task("small", ColourPatchSource(num_classes=2, num_train=20, num_test=8, seed=2))
    dm = PaintDataModule(
        patch=[big, small], batch_size=10, num_workers=0, heldout_fraction=0.1, patch_sampling=sampling, **kwargs
    )
    dm.set_transforms(T.ToTensor(), T.ToTensor())
    dm.setup("fit")
    return dm


def _task_counts(dm: PaintDataModule) -> Counter:
    """Items of each task in one epoch of the training sampler."""
    sampler = dm.train_dataloader().sampler
    return Counter(dm.train_set[index][2] for _, index in sampler)


def test_proportional_is_the_plain_shuffle_of_the_pooled_tasks() -> None:
    dm = _two_tasks("proportional")
    loader = dm.train_dataloader()
    assert type(loader.sampler) is EpochSampler  # the order every run had before the option existed
    assert _task_counts(dm) == Counter({0: 81, 1: 18})


def test_balanced_gives_each_task_an_equal_share_of_an_epoch_of_the_same_length() -> None:
    dm = _two_tasks("balanced")
    assert isinstance(dm.train_dataloader().sampler, BalancedEpochSampler)
    counts = _task_counts(dm)
    assert sum(counts.values()) == 99 and abs(counts[0] - counts[1]) <= 1


def test_balanced_order_repeats_small_tasks_evenly_and_subsamples_large_ones() -> None:
    order = balanced_order([10, 3], seed=0, epoch=0)
    assert len(order) == 13
    small = Counter(i for i in order if i >= 10)
    assert set(small) == {10, 11, 12} and max(small.values()) - min(small.values()) <= 1  # each once per pass
    large = [i for i in order if i < 10]
    assert len(large) in (6, 7) and len(set(large)) == len(large)  # no repeats in the large task
    assert balanced_order([10, 3], seed=0, epoch=0) == order
    assert balanced_order([10, 3], seed=0, epoch=1) != order
    assert balanced_order([10, 3], seed=1, epoch=0) != order


def test_balanced_sampler_shards_and_resumes_like_the_epoch_sampler() -> None:
    shards = [BalancedEpochSampler([10, 3], num_replicas=2, rank=r, seed=0) for r in (0, 1)]
    items = [list(s) for s in shards]
    assert len(items[0]) == len(items[1]) == 7  # 13 padded to 14
    order = balanced_order([10, 3], seed=0, epoch=0)
    interleaved = [pair[1] for both in zip(*items, strict=True) for pair in both]
    assert interleaved == order + order[:1]  # the epoch's order, padded as DistributedSampler pads
    resumed = BalancedEpochSampler([10, 3], num_replicas=2, rank=0, seed=0)
    resumed.skip = 3
    assert list(resumed) == items[0][3:]
    assert list(resumed) == items[0]  # skipping applies to one epoch only


def test_one_patch_task_ignores_the_option_and_bad_values_are_refused() -> None:
    dm = PaintDataModule(patch=[Task("t", ColourPatchSource())], num_workers=0, patch_sampling="balanced")
    dm.set_transforms(T.ToTensor(), T.ToTensor())
    dm.setup("fit")
    assert type(dm.train_dataloader().sampler) is EpochSampler
    with pytest.raises(ValueError, match=r"data.patch_sampling='uniform': use one of proportional, balanced"):
        PaintDataModule(patch=[Task("t", ColourPatchSource())], patch_sampling="uniform")
