import pytest
import torch

from paint_lightning.data.tasks import TaskSpec
from tests.conftest import tiny_module

SPECS = [TaskSpec("p", "patch", ["red", "green"], ["a {} thing."]), TaskSpec("s", "support", ["x", "y", "z"], ["{}"])]


def test_only_image_tower_is_trainable() -> None:
    module = tiny_module()
    module.set_tasks(SPECS)
    module.configure_model()
    trainable = {name for name, p in module.named_parameters() if p.requires_grad}
    assert trainable and all(name.startswith("clip.visual.") for name in trainable)
    assert not any(p.requires_grad for p in module.start_point.parameters())
    assert not any(p.requires_grad for p in module.heads.parameters())


def test_start_point_is_a_separate_copy_taken_before_training() -> None:
    module = tiny_module()
    module.configure_model()
    module.configure_model()  # idempotent: Lightning and WeightAveraging may both call it
    for live, start in zip(module.clip.visual.parameters(), module.start_point.tower.parameters(), strict=True):
        assert torch.equal(live, start)
        assert live.data_ptr() != start.data_ptr()


def test_start_point_keeps_its_precision_when_the_module_is_cast() -> None:
    module = tiny_module()
    module.configure_model()
    reference = {k: v.clone() for k, v in module.start_point.state_dict().items()}
    module.to(torch.bfloat16)  # what trainer.precision=bf16-true does
    assert next(module.clip.visual.parameters()).dtype == torch.bfloat16
    for key, value in module.start_point.state_dict().items():
        assert value.dtype == torch.float32 and torch.equal(value, reference[key]), key


def test_alpha_endpoints_reproduce_zero_shot_and_fine_tuned_logits() -> None:
    module = tiny_module().eval()
    module.set_tasks(SPECS)
    module.configure_model()  # the start point is taken here (the Trainer calls it before any step)
    images = torch.randn(4, 3, 16, 16)
    zero_shot_logits = module(images, "p")
    with torch.no_grad():
        for p in module.clip.visual.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    fine_tuned_logits = module(images, "p")
    assert not torch.allclose(zero_shot_logits, fine_tuned_logits)
    for alpha, expected in ((0.0, zero_shot_logits), (1.0, fine_tuned_logits)):
        probe = tiny_module().eval()
        probe.set_tasks(SPECS)
        probe.clip.load_state_dict(module.patched_state_dict(alpha))
        assert torch.equal(probe(images, "p"), expected)


def test_heads_are_kept_when_they_exist() -> None:
    module = tiny_module()
    module.set_tasks(SPECS)
    with torch.no_grad():
        module.heads["p"].fill_(7.0)
    module.set_tasks(SPECS)
    assert torch.all(module.heads["p"] == 7.0)


def test_head_logit_scale_replaces_the_learned_scale_without_changing_predictions() -> None:
    learned, fixed = tiny_module(), tiny_module(head_logit_scale=100.0)
    learned.set_tasks(SPECS)
    fixed.set_tasks(SPECS)
    scale = learned.clip.logit_scale.exp().item()
    assert abs(scale - 100.0) > 1.0  # the test means something only if the scales differ
    for name in ("p", "s"):
        assert torch.allclose(fixed.heads[name].norm(dim=-1), torch.full((len(fixed.heads[name]),), 100.0))
        assert torch.allclose(fixed.heads[name] * scale / 100.0, learned.heads[name], atol=1e-5)
    with pytest.raises(ValueError, match=r"model\.head_logit_scale=0"):
        tiny_module(head_logit_scale=0.0)


def test_optimizer_sees_only_image_tower() -> None:
    module = tiny_module()
    module.set_tasks(SPECS)

    class _Trainer:
        estimated_stepping_batches = 10

    module.trainer = _Trainer()  # type: ignore[assignment]
    config = module.configure_optimizers()
    optimised = {id(p) for group in config["optimizer"].param_groups for p in group["params"]}
    assert optimised == {id(p) for p in module.clip.visual.parameters()}
    assert config["optimizer"].param_groups[0]["weight_decay"] == 0.1


@pytest.mark.slow
def test_compiled_tower_sees_in_place_interpolation() -> None:
    from paint_lightning.engine import patch_tensors
    from paint_lightning.interpolation import InPlaceCombiner, Mix

    compiled = tiny_module(compile=True).eval()
    compiled.set_tasks(SPECS)
    compiled.configure_model()
    eager = tiny_module().eval()
    eager.set_tasks(SPECS)
    eager.configure_model()
    eager.load_state_dict(compiled.state_dict())
    images = torch.randn(4, 3, 16, 16)
    zero_shot = eager(images, "p")
    with torch.no_grad():
        for a, b in zip(compiled.clip.visual.parameters(), eager.clip.visual.parameters(), strict=True):
            a.add_(0.1)
            b.add_(0.1)
    live, start = patch_tensors(compiled)
    with torch.no_grad(), InPlaceCombiner(live, start) as weights:
        weights.set(Mix.of(0.0))
        torch.testing.assert_close(compiled(images, "p"), zero_shot, rtol=1e-4, atol=1e-4)
        weights.set(Mix.of(1.0))
        torch.testing.assert_close(compiled(images, "p"), eager(images, "p"), rtol=1e-4, atol=1e-4)
