import copy

import pytest
import torch
from torch import nn

from paint_lightning.engine.mixed_state import gathered_state, state_at_mix
from paint_lightning.interpolation.mix import Mix


class Toy(nn.Module):
    """A patchable model: a tower with a BatchNorm (an int64 buffer), its start point, a head."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.tower = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
        self.start = copy.deepcopy(self.tower)
        self.head = nn.Linear(3, 2)
        with torch.no_grad():
            for p in self.tower.parameters():
                p.add_(torch.randn_like(p))
            self.tower[1].running_mean.add_(1.0)
        self.tower[1].num_batches_tracked.fill_(7)
        self.start[1].num_batches_tracked.fill_(2)
        self.task_specs = []

    def patch_towers(self) -> tuple[nn.Module, nn.Module]:
        return self.tower, self.start


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.75, 1.0])
def test_state_at_mix_is_paints_formula_per_tensor(alpha) -> None:
    model = Toy()
    zs = {k: v.clone() for k, v in model.start.state_dict().items()}
    ft = {k: v.clone() for k, v in model.tower.state_dict().items()}
    state = state_at_mix(model, Mix.of(alpha))
    assert state.keys() == model.state_dict().keys()
    for name in zs:
        got = state[f"tower.{name}"]
        if zs[name].is_floating_point():
            torch.testing.assert_close(got, (1 - alpha) * zs[name] + alpha * ft[name], rtol=1e-6, atol=1e-6)
        else:  # integers are never interpolated: the end point's as soon as its coefficient is positive
            assert torch.equal(got, ft[name] if alpha > 0 else zs[name])
    for end, exact in ((0.0, zs), (1.0, ft)):  # the end points come back bit for bit
        if alpha == end:
            assert all(torch.equal(state[f"tower.{k}"], v) for k, v in exact.items())


def test_state_at_mix_copies_the_rest_and_leaves_the_model_as_it_was() -> None:
    model = Toy()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = state_at_mix(model, Mix.of(0.5))
    assert all(torch.equal(state[k], before[k]) for k in before if not k.startswith("tower."))
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    state["head.weight"].zero_()  # a copy, not the model's own tensor
    assert torch.equal(model.head.weight, before["head.weight"])


def test_state_at_mix_of_other_end_points_and_groups() -> None:
    model = Toy()
    zs = {k: v.clone() for k, v in model.start.state_dict().items()}
    ends = [{k: v + 1.0 if v.is_floating_point() else v + 10 for k, v in zs.items()}, {k: v * 2 for k, v in zs.items()}]
    state = state_at_mix(model, Mix.of(0.25, 0.5), ends)
    for name, value in zs.items():
        if value.is_floating_point():
            expected = value + 0.25 * (ends[0][name] - value) + 0.5 * (ends[1][name] - value)
            torch.testing.assert_close(state[f"tower.{name}"], expected, rtol=1e-6, atol=1e-6)
        else:
            assert torch.equal(state[f"tower.{name}"], ends[1][name])  # the largest coefficient's end point
    with pytest.raises(ValueError, match="1 coefficient"):
        state_at_mix(model, Mix.of(0.5), ends)


def test_state_at_mix_reads_the_state_through_the_given_function() -> None:
    model = Toy()
    seen = []

    def gathered() -> dict[str, torch.Tensor]:
        seen.append(model.tower[0].weight.detach().clone())  # an unsharded tower is not written in place
        return {"tower.0.weight": model.tower[0].weight}

    live = model.tower[0].weight.detach().clone()
    state = state_at_mix(model, Mix.of(0.0), state_dict=gathered)
    assert list(state) == ["tower.0.weight"] and torch.equal(state["tower.0.weight"], model.start[0].weight)
    assert torch.equal(seen[0], live) and torch.equal(model.tower[0].weight, live)


def test_state_at_mix_rounds_a_lower_precision_tower_once_from_float32() -> None:
    model = Toy()
    zs = {k: v.clone() for k, v in model.start.state_dict().items()}
    model.tower.to(torch.bfloat16)
    ft = {k: v.clone() for k, v in model.tower.state_dict().items()}
    state = state_at_mix(model, Mix.of(0.3))
    weight = state["tower.0.weight"]
    expected = torch.lerp(zs["0.weight"], ft["0.weight"].float(), 0.3).to(torch.bfloat16)
    assert weight.dtype == torch.bfloat16 and torch.equal(weight, expected)


def test_gathered_state_reads_tensor_by_tensor_and_state_at_mix_takes_pairs() -> None:
    model = Toy()
    pairs = gathered_state(model)
    assert not isinstance(pairs, dict)  # read lazily: one gathered tensor at a time under FSDP
    expected = state_at_mix(model, Mix.of(0.3))
    got = state_at_mix(model, Mix.of(0.3), state_dict=lambda: gathered_state(model))
    assert list(got) == list(model.state_dict()) and all(torch.equal(got[k], v) for k, v in expected.items())


class _HostFull:
    """A tensor whose host copy fails (out of host memory)."""

    def detach(self) -> "_HostFull":
        return self

    def to(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory")


def test_a_failed_host_copy_reads_on_to_the_end_before_it_raises() -> None:
    """Under FSDP every read is a collective: stopping early would leave the other processes waiting."""
    model, read = Toy(), []

    def pairs():
        for key, value in [("a", torch.ones(1)), ("b", _HostFull()), ("c", torch.ones(1))]:
            read.append(key)
            yield key, value

    with pytest.raises(RuntimeError, match="copying the model's state to host memory failed"):
        state_at_mix(model, Mix.of(0.5), state_dict=pairs)
    assert read == ["a", "b", "c"]
    assert state_at_mix(model, Mix.of(0.5), state_dict=pairs, keep=False) == {}  # a process keeping nothing


@pytest.mark.parametrize("mix", [Mix.of(0.35), Mix.of({"*": 0.2, "embed": 0.9})])
def test_the_mix_is_written_into_the_copies_with_the_sweeps_bits_and_no_backup_of_the_live_tower(mix) -> None:
    from paint_lightning.interpolation.combine import InPlaceCombiner, tower_tensors

    model = Toy()
    live, start = tower_tensors(model.tower), tower_tensors(model.start)
    with InPlaceCombiner(live, start) as combiner:  # what the sweep evaluates
        combiner.set(mix)
        evaluated = {f"tower.{k}": v.clone() for k, v in live.items()}
    clones: list[torch.Size] = []
    original = torch.Tensor.clone
    try:  # the old path cloned every live tensor (a backup of the tower) before writing in place
        torch.Tensor.clone = lambda self, *a, **k: clones.append(self.shape) or original(self, *a, **k)  # type: ignore[method-assign]
        state = state_at_mix(model, mix, wanted=lambda key: key.startswith("tower."))
    finally:
        torch.Tensor.clone = original  # type: ignore[method-assign]
    assert clones == []
    assert state.keys() == evaluated.keys()  # wanted: neither the start point nor the head copied
    assert all(torch.equal(state[k], v) for k, v in evaluated.items())


def test_a_process_keeping_nothing_does_not_read_an_unsharded_model() -> None:
    model = Toy()
    calls = []
    assert state_at_mix(model, Mix.of(0.5), state_dict=lambda: calls.append(1) or model.state_dict(), keep=False) == {}
    assert calls == []


def test_an_export_written_at_once_holds_no_second_copy_of_the_unchanged_host_tensors() -> None:
    model = Toy()
    state = state_at_mix(model, Mix.of(0.5), copy_unchanged=False)
    assert state["head.weight"].data_ptr() == model.head.weight.data_ptr()  # the model's own, not a copy
    assert state["tower.0.weight"].data_ptr() != model.tower[0].weight.data_ptr()  # the mix: a new tensor
    copied = state_at_mix(model, Mix.of(0.5))
    assert copied["head.weight"].data_ptr() != model.head.weight.data_ptr()
    assert all(torch.equal(state[k], copied[k]) for k in copied)
