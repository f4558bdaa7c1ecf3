"""The chains in configs/multitask/chains/ load, and their shared config parses as paint fit's."""

from pathlib import Path

import pytest

from paint_lightning.commands.sequential import base_settings, step_config
from paint_lightning.workflows.chain import load_chain

REPO = Path(__file__).resolve().parents[2]
CHAINS = sorted(p for p in (REPO / "configs" / "multitask" / "chains").glob("*.yaml") if p.name != "world.yaml")


def test_there_are_chains() -> None:
    assert len(CHAINS) >= 2


@pytest.mark.parametrize("path", CHAINS, ids=lambda p: p.name)
def test_chain_loads_and_builds_every_step(path: Path, tmp_path: Path) -> None:
    chain = load_chain(path)
    base = base_settings(chain, [])
    assert [t["name"] for t in base["support"]] == ["shapes", "colours", "counts"] and base["export"]
    names = [step.task_names[0] for step in chain.steps]
    last = step_config(chain, len(chain.steps) - 1, base, tmp_path / "prev.safetensors", tmp_path)
    assert [t["name"] for t in last["data"]["support"]] == ["shapes", "colours", "counts", *names[:-1]]
    assert last["model"]["clip"]["pretrained"] == str(tmp_path / "prev.safetensors")
    # The shipped chains set no per-task limit: a later step only calls its alpha = 0 "start".
    assert chain.max_earlier_drop is None and last["sweep"] == {"start_name": "start"}
    first = step_config(chain, 0, base, None, tmp_path)
    assert [t["name"] for t in first["data"]["transfer"]] == names[1:] and "model" not in first
    assert "sweep" not in first
