import pytest
import torch
from torch.utils.data import DataLoader, Subset

from paint_lightning.data.cache import TensorDataset
from paint_lightning.data.samplers import IGNORE_LABEL
from paint_lightning.engine import Sweeper
from paint_lightning.engine.counts import Counts
from paint_lightning.engine.sweeper import add_counts, add_pairs
from paint_lightning.interpolation import Mix
from tests.callbacks.helpers import fit_tiny
from tests.conftest import tiny_module

ALPHAS = [0.0, 0.2, 0.5, 0.9, 1.0]
MIXES = [Mix.of(a) for a in ALPHAS]


def count_correct(module, loaders, chunk_bytes):
    counts = Sweeper(module, "cpu", chunk_bytes).count(loaders, MIXES)
    return counts.correct, counts.total


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    _trainer, module, datamodule = fit_tiny(tmp_path_factory.mktemp("fit"), [], epochs=2)
    return module.eval(), datamodule


def _naive_right(module, datamodule, alphas):
    """The reference code's way: a fresh model per alpha, every image decoded again.

    Returns:
        Task name -> one list per alpha of per-image correctness (bools, in the held-out set's order).
    """
    right = {}
    for j, alpha in enumerate(alphas):
        probe = tiny_module()
        probe.set_tasks(module.task_specs)
        probe.heads.load_state_dict(module.heads.state_dict())
        probe.clip.load_state_dict(module.patched_state_dict(alpha))
        probe.eval()
        for spec in module.task_specs:
            for images, labels in DataLoader(datamodule.heldout_sets[spec.name], batch_size=7):
                with torch.no_grad():
                    hits = (probe(images, spec.name).argmax(-1) == labels).tolist()
                right.setdefault(spec.name, [[] for _ in alphas])[j].extend(hits)
    return right


@pytest.fixture(scope="module")
def naive_right(trained):
    module, datamodule = trained
    return _naive_right(module, datamodule, ALPHAS)


def _naive_counts(module, right):
    """Correct images per (task, alpha): the per-image correctness of :func:`_naive_right`, summed."""
    return torch.tensor([[sum(hits) for hits in right[spec.name]] for spec in module.task_specs], dtype=torch.long)


@pytest.mark.parametrize("chunk_bytes", [1, 1 << 30])
def test_one_pass_sweep_equals_naive_sweep_exactly(trained, naive_right, chunk_bytes) -> None:
    module, datamodule = trained
    naive = _naive_counts(module, naive_right)
    loaders = {s.name: datamodule.eval_dataloader(datamodule.heldout_sets[s.name]) for s in module.task_specs}
    correct, total = count_correct(module, loaders, chunk_bytes)
    assert torch.equal(correct, naive)
    assert total.tolist() == [len(datamodule.heldout_sets[s.name]) for s in module.task_specs]
    assert not torch.equal(correct[:, 0], correct[:, -1])  # the sweep sees different models


def test_sweep_restores_weights_and_rng_exactly(trained) -> None:
    module, datamodule = trained
    before = {k: v.clone() for k, v in module.state_dict().items()}
    rng = torch.get_rng_state()
    sets = datamodule.cached_heldout_sets()
    assert isinstance(sets["patches"], TensorDataset)
    loaders = {s.name: datamodule.eval_dataloader(sets[s.name]) for s in module.task_specs}
    count_correct(module, loaders, 1 << 20)
    after = module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(rng, torch.get_rng_state())


def test_cached_and_decoded_sets_give_the_same_counts(trained) -> None:
    module, datamodule = trained
    decoded = {s.name: datamodule.eval_dataloader(datamodule.heldout_sets[s.name]) for s in module.task_specs}
    first = count_correct(module, decoded, 1 << 20)
    sets = datamodule.cached_heldout_sets()
    cached = {s.name: datamodule.eval_dataloader(sets[s.name]) for s in module.task_specs}
    second = count_correct(module, cached, 1 << 20)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def _peer(*plans: tuple[int, int]):
    """A reduce that sums with another process whose chunks have ``plans`` (batches, images), then ends."""
    signatures = [torch.tensor([1, b, n, b * b, n * n], dtype=torch.float64) for b, n in [*plans, (0, 0)]]
    return lambda local: local + signatures.pop(0)


def _chunk(*sizes: int) -> list:
    return [(0, torch.zeros(size, 3), torch.zeros(size, dtype=torch.long)) for size in sizes]


def test_processes_run_the_same_chunks_or_stop_together() -> None:
    """Under FSDP every forward is a collective: a process with another chunk plan must not run on."""
    from paint_lightning.engine.sweeper import _in_step

    chunks = [_chunk(5, 5), _chunk(1)]
    assert list(_in_step(iter(chunks), _peer((2, 10), (1, 1)), torch.device("cpu"))) == chunks
    steps = _in_step(iter(chunks), _peer((2, 10)), torch.device("cpu"))  # the other process has one batch fewer
    assert next(steps) == chunks[0]
    with pytest.raises(RuntimeError, match=r"1 batches of 1 images in its next chunk.*same batches"):
        next(steps)
    with pytest.raises(RuntimeError, match="evaluation batches differ between processes"):
        list(_in_step(iter(chunks), _peer((2, 9), (1, 1)), torch.device("cpu")))  # same batches, other sizes


@pytest.mark.parametrize("chunk_bytes", [1, 1 << 30])
def test_discordant_pairs_equal_a_naive_per_image_comparison(trained, naive_right, chunk_bytes) -> None:
    module, datamodule = trained
    right = naive_right
    loaders = {s.name: datamodule.eval_dataloader(datamodule.heldout_sets[s.name]) for s in module.task_specs}
    counts = Sweeper(module, "cpu", chunk_bytes).count(loaders, MIXES)
    for t, spec in enumerate(module.task_specs):
        hits = right[spec.name]
        naive = [[sum(a and not b for a, b in zip(hits[i], hits[j], strict=True)) for j in range(5)] for i in range(5)]
        assert counts.discordant[t].tolist() == naive
    assert counts.discordant.sum() > 0  # the alphas disagree on some images: the test can fail
    pairs = counts.column(MIXES[0]).paired_with(counts.column(MIXES[-1]), MIXES[0], MIXES[-1])
    d = counts.discordant
    assert pairs == {s.name: (int(d[t, 0, 4]), int(d[t, 4, 0])) for t, s in enumerate(module.task_specs)}


def test_discordant_pairs_of_shards_add_up_to_the_whole(trained) -> None:
    """Two processes' shards summed (as the reduction does) give one process's counts."""
    module, datamodule = trained
    sets = {s.name: datamodule.heldout_sets[s.name] for s in module.task_specs}
    whole = Sweeper(module, "cpu", 1 << 20).count({n: datamodule.eval_dataloader(d) for n, d in sets.items()}, MIXES)
    shards = [
        Sweeper(module, "cpu", 1 << 20).count(
            {n: datamodule.eval_dataloader(Subset(d, range(k, len(d), 2))) for n, d in sets.items()}, MIXES
        )
        for k in (0, 1)
    ]
    assert torch.equal(shards[0].discordant + shards[1].discordant, whole.discordant)
    doubled = whole.reduced(lambda flat: 2 * flat)  # a reduction over two identical processes
    assert torch.equal(doubled.discordant, 2 * whole.discordant) and torch.equal(doubled.correct, 2 * whole.correct)


def test_placeholder_labels_are_never_discordant() -> None:
    counts = Counts.zeros(["t"], [Mix.of(0.0), Mix.of(1.0)])
    labels = torch.tensor([0, 1, IGNORE_LABEL])
    a = add_counts(counts, 0, 0, torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]), labels)  # right, wrong, -
    b = add_counts(counts, 0, 1, torch.tensor([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]), labels)  # wrong, right, -
    add_pairs(counts, 0, [1, 0], [b, a])  # in any order of candidates
    assert counts.discordant[0].tolist() == [[0, 1], [1, 0]]
