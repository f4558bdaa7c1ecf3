"""LiNeS merging against the paper's layer scaling lambda(l) = alpha + beta (l - 1) / (L - 1)."""

import pytest
import torch

from paint_lightning.interpolation.lines_merge import depth_scales
from paint_lightning.interpolation.merges import MERGES, coefficient_grid, merge_end_point

BLOCKS = 12  # out of order below, and two-digit indices: depth is numeric, not lexical


def tower(generator: torch.Generator) -> dict[str, torch.Tensor]:
    names = ["conv1.weight", "class_embedding", "positional_embedding", "ln_pre.weight"]
    for i in (10, 2, 0, 11, 1, 5, 3, 4, 6, 7, 8, 9):
        names += [f"transformer.resblocks.{i}.attn.in_proj_weight", f"transformer.resblocks.{i}.ln_1.bias"]
    names += ["ln_post.weight", "proj"]
    return {name: torch.randn(3, 2, generator=generator) for name in names}


def paper_scale(name: str, tasks: int) -> float:
    """The paper's lambda(l) with alpha = 1/T, beta = 1 - 1/T; alpha outside the residual blocks (authors' code)."""
    alpha, beta = 1 / tasks, 1 - 1 / tasks
    if ".resblocks." not in name:
        return alpha
    layer = int(name.split(".resblocks.")[1].split(".")[0]) + 1  # 1-based
    return alpha + beta * (layer - 1) / (BLOCKS - 1)


@pytest.mark.parametrize("tasks", [1, 2, 3])
def test_the_summed_task_vector_is_scaled_from_the_mean_in_the_first_block_to_the_sum_in_the_last(tasks: int) -> None:
    generator = torch.Generator().manual_seed(tasks)
    start = {**tower(generator), "steps": torch.tensor(3)}
    before = {name: t.clone() for name, t in start.items()}
    ends = [
        {
            **{n: t + torch.randn(t.shape, generator=generator) for n, t in start.items() if n != "steps"},
            "steps": torch.tensor(8),
        }
        for _ in range(tasks)
    ]
    merged = merge_end_point("lines", start, ends)
    for name, tensor in start.items():
        if name == "steps":
            continue
        summed = sum(end[name] - tensor for end in ends)
        expected = tensor + paper_scale(name, tasks) * summed
        torch.testing.assert_close(merged[name], expected, atol=1e-5, rtol=1e-5, msg=name)
    assert merged["steps"].item() == 3
    assert all(torch.equal(start[n], before[n]) for n in start)  # inputs untouched
    first = merged["transformer.resblocks.0.ln_1.bias"] - start["transformer.resblocks.0.ln_1.bias"]
    torch.testing.assert_close(
        first,
        sum(e["transformer.resblocks.0.ln_1.bias"] for e in ends) / tasks - start["transformer.resblocks.0.ln_1.bias"],
        atol=1e-5,
        rtol=1e-5,
    )


def test_depth_follows_blocks_and_stages_and_a_single_block_takes_alpha() -> None:
    stages = [f"layer{i}.0.conv1.weight" for i in (4, 1, 3, 2)] + ["conv1.weight", "attnpool.c_proj.weight"]
    scales = depth_scales(stages, 4)  # alpha 0.25, beta 0.75, stages 1..4 at 0, 1/3, 2/3, 1
    assert scales["layer1.0.conv1.weight"] == pytest.approx(0.25)
    assert scales["layer3.0.conv1.weight"] == pytest.approx(0.25 + 0.75 * 2 / 3)
    assert scales["layer4.0.conv1.weight"] == pytest.approx(1.0)
    assert scales["conv1.weight"] == scales["attnpool.c_proj.weight"] == pytest.approx(0.25)  # embed, head: alpha
    single = depth_scales(["transformer.resblocks.0.mlp.c_fc.weight", "proj"], 2)
    assert single == {"transformer.resblocks.0.mlp.c_fc.weight": 0.5, "proj": 0.5}
    with pytest.raises(ValueError, match="at least one task vector"):
        depth_scales(["proj"], 0)


def test_lines_is_searched_over_the_block_scales_the_paper_reaches() -> None:
    assert MERGES["lines"].top == 2.0 and "1/T" in MERGES["lines"].range_source
    assert coefficient_grid("lines", 31) == tuple(round(i / 10, 6) for i in range(21))
    assert MERGES["wudi"].top == 1.0 and "without rescaling" in MERGES["wudi"].range_source
