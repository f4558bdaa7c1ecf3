"""BatchNorm statistics pooled across processes: the maths, the temporary swap, the checkpoint."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paint_lightning.callbacks.batchnorm import (
    TRAINING_BUFFERS,
    pool_moments,
    pooled_batchnorm,
    restore_training_buffers,
    swap_in_pooled,
)


def test_pooled_variance_by_hand() -> None:
    # rank A saw [0, 2] (mean 1, variance 1), rank B saw [4, 6] (mean 5, variance 1);
    # together [0, 2, 4, 6]: mean 3, variance (9 + 1 + 1 + 9) / 4 = 5, not the mean variance 1.
    mean, variance = pool_moments(torch.tensor([[1.0], [5.0]]), torch.tensor([[1.0], [1.0]]))
    assert mean.tolist() == [3.0] and variance.tolist() == [5.0]


def test_pooled_moments_are_those_of_the_concatenated_samples() -> None:
    generator = torch.Generator().manual_seed(0)
    first = torch.randn(64, 5, generator=generator, dtype=torch.float64) * 2 + 3
    second = torch.randn(64, 5, generator=generator, dtype=torch.float64) * 0.5 - 1
    means = torch.stack([first.mean(0), second.mean(0)])
    variances = torch.stack([first.var(0, unbiased=False), second.var(0, unbiased=False)])
    mean, variance = pool_moments(means, variances)
    both = torch.cat([first, second])
    torch.testing.assert_close(mean, both.mean(0), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(variance, both.var(0, unbiased=False), rtol=1e-12, atol=1e-12)
    assert (variance - variances.mean(0)).min() > 1.0  # the mean of the variances is far off


def test_identical_processes_keep_their_statistics_exactly() -> None:
    mean = torch.randn(7, dtype=torch.float32).double()
    variance = torch.rand(7, dtype=torch.float32).double()
    pooled_mean, pooled_variance = pool_moments(mean.expand(3, 7), variance.expand(3, 7))
    assert torch.equal(pooled_mean, mean) and torch.equal(pooled_variance, variance)


def _tower(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    tower = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2))
    tower.train()
    for _ in range(3):  # running statistics of this "process's" own batches
        tower(torch.randn(8, 3, 5, 5) * (seed + 1) + seed)
    return tower.eval()


def _two_processes(other: nn.Module):
    """A stand-in for ``all_gather`` between this tower and ``other`` (the same flat layout)."""

    def gather(flat: torch.Tensor) -> torch.Tensor:
        layers = [m for m in other.modules() if isinstance(m, nn.BatchNorm2d)]
        theirs = torch.stack(
            [torch.cat([m.running_mean for m in layers]).double(), torch.cat([m.running_var for m in layers]).double()]
        )
        return torch.stack([flat, theirs])

    return gather


def test_pooled_statistics_are_used_inside_the_block_and_the_live_ones_come_back_bit_for_bit() -> None:
    mine, theirs = _tower(0), _tower(1)
    live = {name: buffer.clone() for name, buffer in mine.named_buffers()}
    images = torch.randn(2, 3, 5, 5)
    with pooled_batchnorm(mine, _two_processes(theirs)) as pooled:
        assert set(pooled) == {"1.running_mean", "1.running_var", "4.running_mean", "4.running_var"}
        for layer in ("1", "4"):
            mean, variance = pool_moments(
                torch.stack([live[f"{layer}.running_mean"], theirs.state_dict()[f"{layer}.running_mean"]]).double(),
                torch.stack([live[f"{layer}.running_var"], theirs.state_dict()[f"{layer}.running_var"]]).double(),
            )
            assert torch.equal(mine.state_dict()[f"{layer}.running_mean"], mean.float())
            assert torch.equal(mine.state_dict()[f"{layer}.running_var"], variance.float())
            assert not torch.equal(variance.float(), live[f"{layer}.running_var"])
        pooled_output = mine(images)
    for name, buffer in mine.named_buffers():
        assert torch.equal(buffer, live[name]), name
    assert not torch.equal(mine(images), pooled_output)  # the block did evaluate other statistics
    with pytest.raises(RuntimeError, match="boom"), pooled_batchnorm(mine, _two_processes(theirs)):
        raise RuntimeError("boom")
    assert all(torch.equal(buffer, live[name]) for name, buffer in mine.named_buffers())


def test_a_checkpoint_holds_the_pooled_statistics_and_resumes_from_the_training_ones() -> None:
    tower = _tower(0)
    state = {f"tower.{name}": value.clone() for name, value in tower.state_dict().items()}
    pooled = {"tower.1.running_var": torch.full((4,), 7.0)}
    checkpoint = {"state_dict": dict(state)}
    swap_in_pooled(checkpoint, pooled)
    assert torch.equal(checkpoint["state_dict"]["tower.1.running_var"], pooled["tower.1.running_var"])
    assert torch.equal(checkpoint[TRAINING_BUFFERS]["tower.1.running_var"], state["tower.1.running_var"])
    assert list(checkpoint["state_dict"]) == list(state)  # the same keys, in the same order
    module = nn.Module()
    module.tower = _tower(5)
    module.load_state_dict(checkpoint["state_dict"])  # what Lightning does first
    restore_training_buffers(module, checkpoint)  # then the sweep's on_load_checkpoint, when resuming
    for key, value in state.items():
        assert torch.equal(module.state_dict()[key], value), key
