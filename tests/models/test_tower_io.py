import pytest
import torch
from safetensors.torch import save_file

from paint_lightning.engine.protocol import patch_tensors
from paint_lightning.models.tower_io import set_live_tower, tower_tensors_of
from tests.conftest import tiny_module


def test_tower_of_an_open_clip_file_is_its_visual_part(tmp_path) -> None:
    module = tiny_module()
    path = tmp_path / "clip.safetensors"
    save_file({k: v.contiguous() for k, v in module.clip.state_dict().items()}, str(path))
    tower, provenance = tower_tensors_of(path, "--fine_tuned")
    own = module.clip.visual.state_dict()
    assert provenance is None and tower.keys() == own.keys()
    assert all(torch.equal(tower[k], own[k]) for k in own)


def test_tower_of_a_run_is_its_fine_tuned_tower_with_provenance(tiny_run) -> None:
    tower, provenance = tower_tensors_of(tiny_run, "--fine_tuned")
    checkpoint = next((tiny_run / "checkpoints").glob("*.ckpt"))
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    assert provenance is not None and tower
    assert all(torch.equal(state[f"clip.visual.{k}"], v) for k, v in tower.items())


def test_an_unreadable_weights_file_names_the_flag(tmp_path) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"--fine_tuned='.*broken.safetensors'"):
        tower_tensors_of(path, "--fine_tuned")


def test_set_live_tower_loads_values_and_keeps_the_start_point() -> None:
    module = tiny_module()
    module.configure_model()
    live, start = patch_tensors(module)
    before = {k: v.clone() for k, v in start.items()}
    new = {k: torch.full_like(v, 0.5) if v.is_floating_point() else v.clone() for k, v in live.items()}
    set_live_tower(module, new, "--fine_tuned")
    assert all(torch.equal(live[k], new[k]) for k in live)
    assert all(torch.equal(start[k], before[k]) for k in start)


def test_set_live_tower_refuses_another_architecture() -> None:
    module = tiny_module()
    module.configure_model()
    live, _ = patch_tensors(module)
    wrong = {k: v.clone() for k, v in live.items()}
    first = next(iter(wrong))
    wrong["extra.weight"] = wrong.pop(first)
    with pytest.raises(ValueError, match=rf"--fine_tuned: .*missing \['{first}'\], unexpected \['extra.weight'\]"):
        set_live_tower(module, wrong, "--fine_tuned")
    proj = next(k for k, v in live.items() if v.dim() == 2)
    with pytest.raises(ValueError, match="shapes"):
        set_live_tower(module, {**live, proj: torch.zeros(1, 1)}, "--fine_tuned")
