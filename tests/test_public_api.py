"""The public API (paint_lightning/__init__.py): interpolate, Mix, merge, save and load a patched model."""

from __future__ import annotations

import copy
import doctest

import open_clip
import pytest
import torch

import paint_lightning
from paint_lightning.interpolation import paint as paint_module
from paint_lightning.interpolation.combine import InPlaceCombiner
from tests.conftest import TINY_CONFIG


def _state(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "conv1.weight": torch.randn(4, 3, generator=g),
        "transformer.resblocks.0.mlp.weight": torch.randn(5, generator=g),
        "proj": torch.randn(3, 2, generator=g),
        "half": torch.randn(6, generator=g).to(torch.bfloat16),
        "bn.num_batches_tracked": torch.tensor(seed * 10 + 3),
    }


def test_the_library_entry_points_are_exported() -> None:
    for name in ("interpolate", "Mix", "Endpoints", "combine", "merge_end_point"):
        assert name in paint_lightning.__all__
    for name in ("export_patched", "load_patched", "load_patched_model"):
        assert name in paint_lightning.__all__
    for name in ("CLIPSource", "PaintModule", "PaintDataModule", "Task", "InterpolationSweep", "CSVSource"):
        assert name in paint_lightning.__all__  # the framework's exports stay
    assert all(hasattr(paint_lightning, name) for name in paint_lightning.__all__)
    assert paint_lightning.interpolate is paint_module.interpolate


@pytest.mark.parametrize("alpha", [0.1, 0.3, 0.5, 0.75, 1.5, -0.25])
def test_interpolate_is_paints_formula_per_tensor(alpha: float) -> None:
    zs, ft = _state(0), _state(1)
    out = paint_lightning.interpolate(zs, ft, alpha)
    assert list(out) == list(zs)
    for name, value in out.items():
        assert value.dtype == zs[name].dtype and value.shape == zs[name].shape, name
        if not value.is_floating_point():
            continue
        start, end = zs[name].float(), ft[name].float()
        expected = (1 - alpha) * start + alpha * end
        tolerance = 1e-2 if zs[name].dtype == torch.bfloat16 else 1e-6
        assert torch.allclose(value.float(), expected, atol=tolerance, rtol=tolerance), name
        if zs[name].dtype == torch.float32:  # the kernel is lerp, bit for bit
            assert torch.equal(value, torch.lerp(zs[name], ft[name], alpha)), name
    # integer buffers are never interpolated: the fine-tuned value for alpha > 0, else the zero-shot one
    expected_count = ft["bn.num_batches_tracked"] if alpha > 0 else zs["bn.num_batches_tracked"]
    assert torch.equal(out["bn.num_batches_tracked"], expected_count)


def test_alpha_zero_and_one_are_the_end_points_exactly() -> None:
    zs, ft = _state(0), _state(1)
    at_zero = paint_lightning.interpolate(zs, ft, 0.0)
    at_one = paint_lightning.interpolate(zs, ft, 1.0)
    for name in zs:
        assert torch.equal(at_zero[name], zs[name]) and at_zero[name].dtype == zs[name].dtype, name
        assert torch.equal(at_one[name], ft[name]) and at_one[name].dtype == ft[name].dtype, name


def test_interpolate_leaves_its_inputs_alone_and_returns_new_tensors() -> None:
    zs, ft = _state(0), _state(1)
    before = copy.deepcopy((zs, ft))
    out = paint_lightning.interpolate(zs, ft, 0.0)
    out["proj"].add_(1.0)
    for original, now in zip(before, (zs, ft), strict=True):
        assert all(torch.equal(original[name], now[name]) for name in original)


def test_interpolate_is_the_products_in_place_mix_bit_for_bit() -> None:
    """The sweep writes the mix into the live (fine-tuned) tensors; interpolate must give the same bits."""
    zs, ft = _state(0), _state(1)
    ft["half"] = ft["half"].float()  # the live model and its start point share dtypes in the product
    zs["half"] = zs["half"].float()
    live = {name: tensor.clone() for name, tensor in ft.items()}
    for alpha in (0.2, 0.45, 0.9):
        with InPlaceCombiner(live, zs) as combiner:
            combiner.set(paint_lightning.Mix.of(alpha))
            swept = {name: tensor.clone() for name, tensor in live.items()}
        out = paint_lightning.interpolate(zs, ft, alpha)
        assert all(torch.equal(out[name], swept[name]) for name in zs), alpha


def test_mismatched_state_dicts_are_refused_naming_the_difference() -> None:
    zs, ft = _state(0), _state(1)
    missing = {name: tensor for name, tensor in ft.items() if name != "proj"}
    with pytest.raises(ValueError, match=r"only in start \['proj'\]"):
        paint_lightning.interpolate(zs, missing, 0.5)
    extra = {**ft, "logit_scale": torch.tensor(1.0)}
    with pytest.raises(ValueError, match="logit_scale"):
        paint_lightning.interpolate(zs, extra, 0.5)
    reshaped = {**ft, "proj": torch.zeros(2, 3)}
    with pytest.raises(ValueError, match=r"proj has shape \(2, 3\), the start point \(3, 2\)"):
        paint_lightning.interpolate(zs, reshaped, 0.5)
    integer = {**ft, "proj": torch.zeros(3, 2, dtype=torch.int64)}
    with pytest.raises(ValueError, match=r"proj is torch\.int64"):
        paint_lightning.interpolate(zs, integer, 0.5)
    with pytest.raises(ValueError, match="finite"):
        paint_lightning.interpolate(zs, ft, float("nan"))


def test_merge_end_point_then_interpolate_is_task_arithmetic() -> None:
    zs, a, b = _state(0), _state(1), _state(2)
    merged = paint_lightning.merge_end_point("task_arithmetic", zs, [a, b])
    out = paint_lightning.interpolate(zs, merged, 0.5)
    for name in ("conv1.weight", "proj"):
        expected = zs[name] + 0.5 * ((a[name] - zs[name]) + (b[name] - zs[name]))
        assert torch.allclose(out[name], expected, atol=1e-5), name
    assert torch.equal(merged["bn.num_batches_tracked"], zs["bn.num_batches_tracked"])


def test_a_saved_patched_model_loads_back_identical(tmp_path) -> None:
    torch.manual_seed(0)
    zs = open_clip.CLIP(**copy.deepcopy(TINY_CONFIG)).state_dict()
    torch.manual_seed(1)
    ft = open_clip.CLIP(**copy.deepcopy(TINY_CONFIG)).state_dict()
    patched = paint_lightning.interpolate(zs, ft, 0.4)
    weights = paint_lightning.export_patched(patched, tmp_path / "out", {"alpha": 0.4}, TINY_CONFIG, {"size": 16})
    assert weights == tmp_path / "out" / "patched.safetensors"

    state, meta = paint_lightning.load_patched(tmp_path / "out")
    assert set(state) == set(patched)
    for name, tensor in patched.items():
        assert state[name].dtype == tensor.dtype and torch.equal(state[name], tensor), name
    assert meta["alpha"] == 0.4 and meta["model_cfg"] == TINY_CONFIG

    model, meta = paint_lightning.load_patched_model(weights)
    assert not model.training and meta["alpha"] == 0.4
    loaded = model.state_dict()
    assert set(loaded) == set(patched)
    assert all(torch.equal(loaded[name], patched[name]) for name in patched)


def test_the_docstring_examples_run() -> None:
    for module in (paint_lightning, paint_module):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__
