import importlib

import open_clip
import pytest
import torch

from paint_lightning.interpolation.combine import Endpoints, InPlaceCombiner, combine, tower_tensors, write_mix
from paint_lightning.interpolation.mix import Mix, group_order, parameter_group


def _state(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "conv1.weight": torch.randn(4, 3, generator=g),
        "transformer.resblocks.0.mlp.weight": torch.randn(5, generator=g),
        "transformer.resblocks.1.mlp.weight": torch.randn(5, generator=g),
        "proj": torch.randn(3, 2, generator=g),
        "bn.num_batches_tracked": torch.tensor(seed * 10),
    }


def test_scalar_mix_is_lerp_and_exact_at_both_ends() -> None:
    start, end = _state(0), _state(1)
    endpoints = Endpoints(start, [end])
    for alpha in (0.0, 0.3, 0.5, 1.0, 1.5):
        out = combine(endpoints, Mix.of(alpha))
        for name, value in out.items():
            if value.is_floating_point():
                assert torch.equal(value, torch.lerp(start[name], end[name], alpha)), name
    assert all(torch.equal(v, start[k]) for k, v in combine(endpoints, Mix.of(0.0)).items())
    assert all(torch.equal(v, end[k]) for k, v in combine(endpoints, Mix.of(1.0)).items())


def test_several_end_points_follow_the_task_arithmetic_formula() -> None:
    start, a, b = _state(0), _state(1), _state(2)
    endpoints = Endpoints(start, [a, b])
    out = combine(endpoints, Mix.of(0.3, 0.6))
    for name, value in out.items():
        if value.is_floating_point():
            expected = start[name] + 0.3 * (a[name] - start[name]) + 0.6 * (b[name] - start[name])
            assert torch.allclose(value, expected, atol=1e-6), name
    # one non-zero coefficient of 1 is that end point, bit for bit
    assert all(torch.equal(v, b[k]) for k, v in combine(endpoints, Mix.of(0.0, 1.0)).items())
    # non-float tensors come from the end point with the largest coefficient, or the start point
    assert int(out["bn.num_batches_tracked"]) == 20
    assert int(combine(endpoints, Mix.of(0.0, 0.0))["bn.num_batches_tracked"]) == 0
    assert int(combine(endpoints, Mix.of(-0.5, 0.0))["bn.num_batches_tracked"]) == 0


def test_per_group_coefficients_apply_to_their_groups_only() -> None:
    start, end = _state(0), _state(1)
    mix = Mix.of({"block.0": 1.0, "block.1": 0.0, "*": 0.5})
    out = combine(Endpoints(start, [end]), mix)
    assert torch.equal(out["transformer.resblocks.0.mlp.weight"], end["transformer.resblocks.0.mlp.weight"])
    assert torch.equal(out["transformer.resblocks.1.mlp.weight"], start["transformer.resblocks.1.mlp.weight"])
    assert torch.equal(out["proj"], torch.lerp(start["proj"], end["proj"], 0.5))


def test_bad_mixes_name_the_problem() -> None:
    endpoints = Endpoints(_state(0), [_state(1)])
    with pytest.raises(ValueError, match="2 coefficient"):
        combine(endpoints, Mix.of(0.1, 0.2))
    with pytest.raises(ValueError, match=r"unknown parameter groups \['block.7'\]"):
        combine(endpoints, Mix.of({"block.7": 0.1, "*": 0.0}))
    with pytest.raises(ValueError, match=r"no value for groups \['embed', 'block.1', 'head'\]"):
        combine(endpoints, Mix.of({"block.0": 0.1}))
    with pytest.raises(ValueError, match="finite"):
        Mix.of(float("nan"))


def test_end_points_are_matched_by_name_not_position() -> None:
    start, end = _state(0), _state(1)
    shuffled = dict(reversed(list(end.items())))
    assert all(torch.equal(combine(Endpoints(start, [shuffled]), Mix.of(1.0))[k], end[k]) for k in end)
    del shuffled["proj"]
    with pytest.raises(ValueError, match=r"only in start \['proj'\]"):
        Endpoints(start, [shuffled])
    wrong = dict(end, proj=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="proj has shape"):
        Endpoints(start, [wrong])


def test_in_place_combiner_restores_the_live_weights_bit_for_bit() -> None:
    start, live = _state(0), _state(1)
    original = {k: v.clone() for k, v in live.items()}
    with InPlaceCombiner(live, start) as combiner:
        combiner.set(Mix.of(1.0))
        assert combiner.current is None  # the live values are alpha = 1: nothing written
        combiner.set(Mix.of(0.25))
        assert torch.equal(live["proj"], torch.lerp(start["proj"], original["proj"], 0.25))
        combiner.set(Mix.of(0.0))
        assert torch.equal(live["proj"], start["proj"]) and int(live["bn.num_batches_tracked"]) == 0
    assert all(torch.equal(live[k], original[k]) for k in live)


def test_in_place_combiner_with_other_end_points_keeps_the_live_values_out() -> None:
    start, live, averaged = _state(0), _state(1), _state(2)
    original = {k: v.clone() for k, v in live.items()}
    with InPlaceCombiner(live, start, ends=[averaged]) as combiner:
        combiner.set(Mix.of(1.0))
        assert torch.equal(live["proj"], averaged["proj"])
    assert all(torch.equal(live[k], original[k]) for k in live)


def test_low_precision_live_weights_are_computed_in_float32_and_rounded_once() -> None:
    start = {"w": torch.randn(64, generator=torch.Generator().manual_seed(0))}
    live = {"w": torch.randn(64, generator=torch.Generator().manual_seed(1)).bfloat16()}
    fine_tuned = live["w"].clone()
    with InPlaceCombiner(live, start) as combiner:
        combiner.set(Mix.of(0.0))
        assert torch.equal(live["w"], start["w"].bfloat16())
        combiner.set(Mix.of(0.3))
        assert torch.equal(live["w"], torch.lerp(start["w"], fine_tuned.float(), 0.3).bfloat16())
    assert torch.equal(live["w"], fine_tuned)


MIXES = [Mix.of(0.3, 0.0), Mix.of(0.3, 0.6), Mix.of(1.0, 0.0), Mix.of({"block.0": 1.0, "*": 0.5}, {"*": -0.2})]


@pytest.mark.parametrize("mix", MIXES, ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_streaming_end_points_one_group_at_a_time_gives_the_same_bits(mix, dtype, monkeypatch) -> None:
    # The path taken when the runs stay on the host and the model is on a device (forced here on
    # the CPU): every call of the kernel holds the tensors of one parameter group only.
    start, ends = _state(0), [_state(1), _state(2)]
    combine_module = importlib.import_module("paint_lightning.interpolation.combine")
    names = {id(t): name for name, t in start.items()}
    calls: list[set[str]] = []
    kernel = combine_module._fused

    def spy(dst, start_part, ends_part, coefficient):
        calls.append({names[id(t)] for t in start_part})
        kernel(dst, start_part, ends_part, coefficient)

    def written(stream: bool) -> list[torch.Tensor]:
        out = [t.clone().to(dtype) if t.is_floating_point() else t.clone() for t in start.values()]
        calls.clear()
        monkeypatch.setattr(combine_module, "_fused", spy)
        write_mix(out, Endpoints(start, ends), mix, stream=stream)
        monkeypatch.undo()
        return out

    whole = written(stream=False)
    streamed = written(stream=True)
    assert len(calls) >= 3 and all(len({parameter_group(n) for n in call}) == 1 for call in calls), calls
    assert all(torch.equal(a, b) for a, b in zip(streamed, whole, strict=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_end_points_on_the_host_are_streamed_to_a_model_on_the_device() -> None:
    start, ends = _state(0), [_state(1), _state(2)]
    on_device = [{k: v.cuda() for k, v in e.items()} for e in (start, *ends)]
    for mix in MIXES:
        live_host_ends = {k: v.clone() for k, v in on_device[0].items()}
        live_device_ends = {k: v.clone() for k, v in on_device[0].items()}
        write_mix(list(live_host_ends.values()), Endpoints(on_device[0], ends), mix)  # ends on the host
        write_mix(list(live_device_ends.values()), Endpoints(on_device[0], on_device[1:]), mix)
        assert all(torch.equal(live_host_ends[k], live_device_ends[k]) for k in start)


@pytest.mark.parametrize("name", ["ViT-B-32", "RN50"])
def test_open_clip_towers_split_into_embed_blocks_and_head(name) -> None:
    groups = {parameter_group(k) for k in tower_tensors(open_clip.create_model(name).visual)}
    order = group_order(groups)
    assert order[0] == "embed" and order[-1] == "head"
    inner = order[1:-1]
    if name == "ViT-B-32":
        assert inner == [f"block.{i}" for i in range(12)]
        assert parameter_group("proj") == parameter_group("ln_post.weight") == "head"
        assert parameter_group("class_embedding") == parameter_group("ln_pre.bias") == "embed"
    else:
        assert inner == [f"stage.{i}" for i in range(1, 5)]
        assert parameter_group("attnpool.c_proj.weight") == "head"
        assert parameter_group("bn1.running_mean") == "embed"
