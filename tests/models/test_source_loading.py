import copy
import json

import open_clip
import pytest
import torch
from safetensors.torch import save_file
from torchvision.transforms import Normalize

from paint_lightning.data.tasks import TaskSpec
from paint_lightning.engine.protocol import patch_tensors
from paint_lightning.models.source_loading import load_model
from tests.conftest import TINY_CONFIG

SPEC = TaskSpec("p", "patch", ["red", "green"], ["a {} thing."])
MEAN = [0.25, 0.5, 0.75]


@pytest.fixture
def export(tmp_path):
    torch.manual_seed(3)
    model = open_clip.CLIP(**copy.deepcopy(TINY_CONFIG))
    weights = tmp_path / "patched.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    (tmp_path / "patched.json").write_text(json.dumps({"preprocess_cfg": {"size": 16, "mean": MEAN, "std": MEAN}}))
    return weights, model


def test_load_model_is_its_own_start_point_with_heads(export) -> None:
    weights, model = export
    module = load_model({"config": copy.deepcopy(TINY_CONFIG), "pretrained": str(weights)}, [SPEC])
    live, start = patch_tensors(module)
    assert all(torch.equal(live[k], start[k]) for k in live)
    assert all(torch.equal(live[k], v) for k, v in model.visual.state_dict().items())
    assert module.heads["p"].shape[0] == 2 and not module.training


def test_load_model_uses_the_recorded_preprocessing_unless_the_source_sets_its_own(export) -> None:
    weights, _ = export

    def mean(module) -> list[float]:
        return list(next(t for t in module.preprocess_eval.transforms if isinstance(t, Normalize)).mean)

    recorded = load_model({"config": copy.deepcopy(TINY_CONFIG), "pretrained": str(weights)})
    assert mean(recorded) == pytest.approx(MEAN)
    own = load_model({"config": copy.deepcopy(TINY_CONFIG), "pretrained": str(weights), "image_mean": [0.1] * 3})
    assert mean(own) == pytest.approx([0.1] * 3)
