"""The chains in configs/multitask/chains/ load, and their shared config parses as paint fit's."""

import re
from pathlib import Path

import pytest

from paint_lightning.commands.sequential import base_settings, step_config
from paint_lightning.workflows.chain import load_chain

REPO = Path(__file__).resolve().parents[2]
CHAINS = sorted(p for p in (REPO / "configs" / "multitask" / "chains").glob("*.yaml") if p.name != "world.yaml")


DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _documented() -> set[str]:
    """Chain names the docs tell users to run (``configs/multitask/chains/<name>.yaml``)."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)
    return set(re.findall(r"configs/multitask/chains/(\w+)\.yaml", text))


def test_the_documented_chains_are_the_shipped_ones() -> None:
    documented = _documented()
    assert documented, "the docs name no chain config"
    assert documented == {path.stem for path in CHAINS}  # none missing, none undocumented


@pytest.mark.parametrize("path", CHAINS, ids=lambda p: p.name)
def test_each_chain_runs_the_steps_its_name_lists(path: Path) -> None:
    chain = load_chain(path)
    # digits_then_positions: step 1 patches digits, step 2 positions.
    assert [step.task_names for step in chain.steps] == [[name] for name in path.stem.split("_then_")]
    assert [step.name for step in chain.steps] == path.stem.split("_then_")
    assert Path(chain.output_dir).name == path.stem
    assert f"paint sequential --config configs/multitask/chains/{path.name}" in path.read_text(encoding="utf-8")


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
