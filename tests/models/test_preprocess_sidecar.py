import json

import pytest
from torchvision.transforms import Normalize

from paint_lightning.models.preprocess_sidecar import recorded_preprocess, use_preprocess
from tests.conftest import tiny_module

CFG = {"size": [16, 16], "mean": [0.1, 0.2, 0.3], "std": [0.5, 0.5, 0.5], "interpolation": "bicubic"}


def _normalize(transform) -> Normalize:
    return next(t for t in transform.transforms if isinstance(t, Normalize))


@pytest.mark.parametrize("sidecar", ["patched.json", "open_clip_config.json"])
def test_recorded_preprocess_reads_either_sidecar(tmp_path, sidecar) -> None:
    weights = tmp_path / "patched.safetensors"
    weights.write_bytes(b"")
    (tmp_path / sidecar).write_text(json.dumps({"preprocess_cfg": CFG}))
    assert recorded_preprocess(str(weights)) == CFG


def test_recorded_preprocess_skips_unreadable_sidecars(tmp_path) -> None:
    weights = tmp_path / "patched.safetensors"
    weights.write_bytes(b"")
    (tmp_path / "patched.json").write_text("{not json")
    assert recorded_preprocess(str(weights)) is None
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"preprocess_cfg": CFG}))
    assert recorded_preprocess(str(weights)) == CFG  # the next side-car is read


def test_recorded_preprocess_is_none_without_a_weights_file(tmp_path) -> None:
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"preprocess_cfg": CFG}))
    assert recorded_preprocess(None) is None
    assert recorded_preprocess("openai") is None
    assert recorded_preprocess(str(tmp_path / "absent.safetensors")) is None


def test_use_preprocess_gives_the_model_those_transforms() -> None:
    module = tiny_module()
    use_preprocess(module, {**CFG, "not_a_field": 1})
    assert "not_a_field" not in module.preprocess_cfg and module.preprocess_cfg["mean"] == (0.1, 0.2, 0.3)
    for transform in (module.preprocess_train, module.preprocess_eval):
        assert list(_normalize(transform).mean) == pytest.approx(CFG["mean"])
