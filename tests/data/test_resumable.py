import random

import torch

from paint_lightning.data.resumable import EpochSampler, ResumableDataLoader, SeededItems


class _Noise:
    def __len__(self) -> int:
        return 10

    def __getitem__(self, index: int) -> tuple[float, float]:
        return torch.rand(()).item(), random.random()


def test_items_are_a_function_of_seed_epoch_and_index_and_leave_global_rng_alone() -> None:
    items = SeededItems(_Noise(), seed=3)
    torch.manual_seed(0)
    random.seed(0)
    expected_torch, expected_python = torch.rand(()), random.random()
    torch.manual_seed(0)
    random.seed(0)
    first = [items[(1, i)] for i in range(4)]
    assert torch.rand(()) == expected_torch and random.random() == expected_python
    assert first == [items[(1, i)] for i in range(4)]
    assert first != [items[(2, i)] for i in range(4)]
    assert items[(1, 0)] != SeededItems(_Noise(), seed=4)[(1, 0)]


def test_sampler_order_depends_on_epoch_and_shards_cover_everything() -> None:
    data = list(range(10))
    a = EpochSampler(data, 1, 0, seed=0)
    a.set_epoch(1)
    order = [i for _, i in a]
    a.set_epoch(2)
    assert [i for _, i in a] != order
    shards = []
    for rank in range(2):
        sampler = EpochSampler(data, 2, rank, seed=0)
        sampler.set_epoch(1)
        shards += [i for _, i in sampler]
    assert sorted(shards) == data


def test_loader_state_resumes_after_the_last_trained_batch() -> None:
    data = SeededItems(list(range(12)), seed=0)  # type: ignore[arg-type]
    done = {"batches": 0}
    loader = ResumableDataLoader(
        data, batch_size=4, sampler=EpochSampler(range(12), 1, 0, seed=0), progress=lambda: (done["batches"], False)
    )
    loader.sampler.set_epoch(5)
    full = [b.tolist() for b in loader]
    done["batches"] = 1
    state = loader.state_dict()
    assert state == {"epoch": 5, "batches": 1, "complete": 0}
    fresh = ResumableDataLoader(data, batch_size=4, sampler=EpochSampler(range(12), 1, 0, seed=0))
    fresh.load_state_dict(state)
    assert [b.tolist() for b in fresh] == full[1:]
    assert [b.tolist() for b in fresh] == full  # skipping applied to the resumed epoch only
    fresh.load_state_dict({"epoch": 5, "batches": 2, "complete": 1})  # e.g. limit_train_batches=2
    assert fresh.sampler.epoch == 6 and fresh.sampler.skip == 0
