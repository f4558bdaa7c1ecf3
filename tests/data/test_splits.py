import pytest
import torch

from paint_lightning.data.cache import TensorDataset
from paint_lightning.data.samplers import IGNORE_LABEL, PLACEHOLDER, PlaceholderItems, UnpaddedDistributedSampler
from paint_lightning.data.splits import heldout_split, stable_seed


def test_split_is_deterministic_disjoint_and_complete() -> None:
    train, held = heldout_split(100, 0.1, None, seed=3)
    assert (train, held) == heldout_split(100, 0.1, None, seed=3)
    assert len(held) == 10 and not set(train) & set(held)
    assert sorted(train + held) == list(range(100))
    assert heldout_split(100, 0.1, None, seed=4)[1] != held


def test_split_is_capped_and_never_empty() -> None:
    assert len(heldout_split(100_000, 0.1, 5000, seed=0)[1]) == 5000
    assert len(heldout_split(5, 0.01, None, seed=0)[1]) == 1


def test_split_rejects_bad_fraction() -> None:
    with pytest.raises(ValueError, match="fraction"):
        heldout_split(10, 1.5, None, 0)


def test_stable_seed_depends_on_every_part() -> None:
    assert stable_seed(0, "a") == stable_seed(0, "a") != stable_seed(0, "b") != stable_seed(1, "a")


@pytest.mark.parametrize(("size", "world"), [(10, 3), (7, 2), (2, 4), (9, 1)])
def test_unpadded_sampler_sees_every_index_once(size: int, world: int) -> None:
    shards = [list(UnpaddedDistributedSampler(range(size), world, rank)) for rank in range(world)]
    assert sorted(i for shard in shards for i in shard if i != PLACEHOLDER) == list(range(size))
    assert [len(UnpaddedDistributedSampler(range(size), world, r)) for r in range(world)] == [len(s) for s in shards]
    # a process with nothing to evaluate gets one placeholder, so it still runs every hook
    assert all(shard == [PLACEHOLDER] for shard in shards[size:])


def test_placeholders_count_nowhere() -> None:
    data = TensorDataset(torch.arange(6.0).view(3, 2), torch.tensor([4, 5, 6]))
    images, labels = data.__getitems__([PLACEHOLDER, 2])
    assert labels.tolist() == [IGNORE_LABEL, 6] and images.shape == (2, 2)
    assert PlaceholderItems([("img", 3)])[PLACEHOLDER] == ("img", IGNORE_LABEL)
