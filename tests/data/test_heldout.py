import pytest
import torch

from paint_lightning.data.cache import TensorDataset
from paint_lightning.data.heldout import confirm_split, heldout_split, part_of, stable_seed
from paint_lightning.data.samplers import IGNORE_LABEL, PLACEHOLDER, EvenShardSampler, PlaceholderItems


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


@pytest.mark.parametrize(("size", "world"), [(10, 3), (7, 2), (11, 2), (2, 4), (9, 1), (0, 2)])
def test_even_shard_sampler_sees_every_index_once_in_shards_of_one_size(size: int, world: int) -> None:
    shards = [list(EvenShardSampler(range(size), world, rank)) for rank in range(world)]
    assert sorted(i for shard in shards for i in shard if i != PLACEHOLDER) == list(range(size))
    # every process runs the same batches (under FSDP every forward is a collective) ...
    assert [len(shard) for shard in shards] == [-(-size // world)] * world
    assert [len(EvenShardSampler(range(size), world, r)) for r in range(world)] == [len(s) for s in shards]
    # ... padded at the end with placeholders, which count nowhere; a process with nothing gets one
    assert all(shard[: len(range(r, size, world))] == list(range(r, size, world)) for r, shard in enumerate(shards))
    assert sum(shard.count(PLACEHOLDER) for shard in shards) == -size % world


def test_uneven_set_gives_every_process_the_same_batches() -> None:
    """11 items, 2 processes, batches of 5: 6 + 5 items, 2 batches each (not 2 and 1)."""
    from torch.utils.data import DataLoader

    data = TensorDataset(torch.arange(22.0).view(11, 2), torch.arange(11))
    loaders = [
        DataLoader(PlaceholderItems(data), batch_size=5, sampler=EvenShardSampler(data, 2, rank)) for rank in (0, 1)
    ]
    shapes = [[tuple(labels.shape) for _, labels in loader] for loader in loaders]
    assert shapes == [[(5,), (1,)], [(5,), (1,)]]
    labels = torch.cat([labels for loader in loaders for _, labels in loader])
    assert (
        sorted(labels[labels != IGNORE_LABEL].tolist()) == list(range(11)) and labels.tolist().count(IGNORE_LABEL) == 1
    )


def test_placeholders_count_nowhere() -> None:
    data = TensorDataset(torch.arange(6.0).view(3, 2), torch.tensor([4, 5, 6]))
    images, labels = data.__getitems__([PLACEHOLDER, 2])
    assert labels.tolist() == [IGNORE_LABEL, 6] and images.shape == (2, 2)
    assert PlaceholderItems([("img", 3)])[PLACEHOLDER] == ("img", IGNORE_LABEL)


def test_confirm_split_is_deterministic_disjoint_complete_and_never_empty() -> None:
    seed = stable_seed(0, "digits", "confirm")
    search, confirm = confirm_split(140, 0.5, seed)
    assert (search, confirm) == confirm_split(140, 0.5, seed)  # any process computes the same parts
    assert len(confirm) == 70 and not set(search) & set(confirm) and sorted(search + confirm) == list(range(140))
    assert confirm_split(140, 0.5, stable_seed(1, "digits", "confirm"))[1] != confirm
    assert confirm_split(140, 0.5, stable_seed(0, "shapes", "confirm"))[1] != confirm
    assert [len(p) for p in confirm_split(2, 0.01, seed)] == [1, 1] == [len(p) for p in confirm_split(2, 0.99, seed)]
    with pytest.raises(ValueError, match="fraction"):
        confirm_split(10, 1.0, seed)
    with pytest.raises(ValueError, match="1 image"):
        confirm_split(1, 0.5, seed)


@pytest.mark.parametrize("decoded", [True, False])
def test_a_part_is_read_the_same_on_one_and_two_processes(decoded: bool) -> None:
    """Each part, sharded like a whole held-out set, is counted once, whatever the number of processes."""
    from torch.utils.data import DataLoader, Dataset

    from paint_lightning.data.cache import collate_batched

    class Items(Dataset):  # a set that is not decoded into memory
        def __len__(self) -> int:
            return 11

        def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
            return torch.full((2,), float(i)), 100 + i

    data = TensorDataset(torch.arange(22.0).view(11, 2), torch.arange(100, 111)) if decoded else Items()
    search, confirm = confirm_split(11, 0.5, stable_seed(3, "t", "confirm"))
    for positions in (search, confirm):
        part = part_of(data, positions)
        read = {}
        for world in (1, 2):
            labels = []
            for rank in range(world):
                sampler = EvenShardSampler(part, world, rank)
                if decoded:
                    loader = DataLoader(part, batch_size=4, sampler=sampler, collate_fn=collate_batched)
                else:
                    loader = DataLoader(PlaceholderItems(part), batch_size=4, sampler=sampler)
                labels += [int(x) for _, batch in loader for x in batch if int(x) != IGNORE_LABEL]
            read[world] = sorted(labels)
        assert read[1] == read[2] == [100 + i for i in positions]
