import pytest
import torch

from paint_lightning.interpolation import WeightInterpolator, add_task_vectors, interpolate_state, task_vector


def _states(seed: int = 0) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    start = {"w": torch.randn(5, 3, generator=g), "b": torch.randn(3, generator=g), "n": torch.tensor(3)}
    end = {"w": torch.randn(5, 3, generator=g), "b": torch.randn(3, generator=g), "n": torch.tensor(7)}
    return start, end


def test_endpoints_are_exact() -> None:
    start, end = _states()
    at0 = interpolate_state(start, end, 0.0)
    at1 = interpolate_state(start, end, 1.0)
    for key in ("w", "b"):
        assert torch.equal(at0[key], start[key])
        assert torch.equal(at1[key], end[key])
    assert at0["n"].item() == 7  # integer tensors come from the fine-tuned end


def test_midpoint_matches_formula() -> None:
    start, end = _states(1)
    mixed = interpolate_state(start, end, 0.3)
    torch.testing.assert_close(mixed["w"], 0.7 * start["w"] + 0.3 * end["w"])


def test_mismatched_keys_are_named() -> None:
    start, end = _states()
    del end["b"]
    with pytest.raises(KeyError, match="only in first \\['b'\\]"):
        interpolate_state(start, end, 0.5)


def test_single_task_vector_equals_interpolation() -> None:
    start, end = _states(2)
    floats = {k: v for k, v in start.items() if v.is_floating_point()}
    combined = add_task_vectors(floats, [task_vector(end, start)], [0.4])
    expected = interpolate_state(start, end, 0.4)
    for key in floats:
        torch.testing.assert_close(combined[key], expected[key])


def test_two_task_vectors_add() -> None:
    start, end_a = _states(3)
    _, end_b = _states(4)
    floats = {k: v for k, v in start.items() if v.is_floating_point()}
    out = add_task_vectors(floats, [task_vector(end_a, start), task_vector(end_b, start)], [0.5, 0.25])
    torch.testing.assert_close(
        out["w"], start["w"] + 0.5 * (end_a["w"] - start["w"]) + 0.25 * (end_b["w"] - start["w"])
    )


def test_interpolator_matches_lerp_and_restores_bit_for_bit() -> None:
    start, end = _states(5)
    live = [end["w"].clone(), end["b"].clone()]
    before = [t.clone() for t in live]
    with WeightInterpolator(live, [start["w"], start["b"]]) as weights:
        for alpha in (0.0, 0.3, 0.75, 1.0, 0.5):
            weights.set_alpha(alpha)
            assert torch.equal(live[0], torch.lerp(start["w"], end["w"], alpha))
            assert torch.equal(live[1], torch.lerp(start["b"], end["b"], alpha))
        weights.set_alpha(0.0)
        assert torch.equal(live[0], start["w"])
    for a, b in zip(live, before, strict=True):
        assert torch.equal(a, b)


def test_interpolator_rejects_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="live \\(2,\\)"):
        WeightInterpolator([torch.zeros(2)], [torch.zeros(3)])


def test_interpolator_needs_with_block() -> None:
    weights = WeightInterpolator([torch.zeros(2)], [torch.ones(2)])
    with pytest.raises(RuntimeError, match="outside its `with` block"):
        weights.set_alpha(0.5)
