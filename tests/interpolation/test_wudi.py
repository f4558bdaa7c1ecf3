"""WUDI-merging against the paper's objective and its gradient-descent solution, on small random matrices."""

import pytest
import torch

from paint_lightning.interpolation.merges import merge_end_point
from paint_lightning.interpolation.wudi import wudi_adam, wudi_matrix


def paper_loss(tau: torch.Tensor, taus: torch.Tensor) -> torch.Tensor:
    """The paper's objective as the authors' code writes it: sum_i ||(tau - tau_i) tau_i^T||^2 / ||tau_i||^2."""
    product = (tau.unsqueeze(0) - taus) @ taus.transpose(1, 2)
    norms = taus.flatten(1).norm(dim=1) ** 2
    return (product.square() / norms.view(-1, 1, 1)).sum()


def descended(taus: torch.Tensor, steps: int) -> torch.Tensor:
    """Plain gradient descent on the paper's loss from the sum of the task vectors (float64, step 1/L)."""
    norms = taus.flatten(1).norm(dim=1) ** 2
    gram = sum(t.T @ t / n for t, n in zip(taus, norms, strict=True))  # the loss's Hessian is 2 * (. @ gram)
    step = 1.0 / (2 * torch.linalg.eigvalsh(gram).max())
    tau = taus.sum(dim=0).clone().requires_grad_(True)
    for _ in range(steps):
        (grad,) = torch.autograd.grad(paper_loss(tau, taus), tau)
        with torch.no_grad():
            tau -= step * grad
    return tau.detach()


def random_taus(tasks: int, rows: int, cols: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    scales = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)[:tasks].view(-1, 1, 1)
    return torch.randn(tasks, rows, cols, generator=generator, dtype=torch.float64) * scales


@pytest.mark.parametrize(
    ("tasks", "rows", "cols"),
    [(3, 5, 4), (2, 6, 3), (2, 2, 7)],  # unique minimiser (tall stack); a down-projection (wide: not unique)
)
def test_the_exact_solution_is_where_gradient_descent_from_the_sum_converges(tasks: int, rows: int, cols: int) -> None:
    taus = random_taus(tasks, rows, cols, seed=rows * 10 + cols)
    exact = wudi_matrix(taus)
    reached = descended(taus, steps=4000)
    torch.testing.assert_close(exact, reached, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(exact, taus.sum(dim=0), atol=1e-3)  # the objective did move it


@pytest.mark.parametrize(("tasks", "rows", "cols"), [(3, 5, 4), (2, 2, 7), (4, 3, 3)])
def test_the_gradient_of_the_papers_loss_vanishes_at_the_solution(tasks: int, rows: int, cols: int) -> None:
    taus = random_taus(tasks, rows, cols, seed=tasks + rows + cols)
    tau = wudi_matrix(taus).requires_grad_(True)
    (grad,) = torch.autograd.grad(paper_loss(tau, taus), tau)
    start = taus.sum(dim=0).requires_grad_(True)
    (start_grad,) = torch.autograd.grad(paper_loss(start, taus), start)
    assert grad.abs().max() < 1e-9 * start_grad.abs().max()  # the sum (the paper's start) is no minimiser
    # and no point nearby does better: the loss is convex, a zero gradient is its minimum
    for _ in range(5):
        nudge = 1e-3 * torch.randn_like(tau)
        assert paper_loss(tau.detach() + nudge, taus) >= paper_loss(tau.detach(), taus)


def test_adam_on_the_papers_loss_agrees_on_a_problem_with_one_minimiser() -> None:
    # The paper's optimiser (Adam, from the sum), run to convergence with a decaying step.
    taus = random_taus(3, 5, 4, seed=7)
    tau = taus.sum(dim=0).clone().requires_grad_(True)
    optimiser = torch.optim.Adam([tau], lr=3e-2)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma=0.999)
    for _ in range(6000):
        optimiser.zero_grad()
        paper_loss(tau, taus).backward()
        optimiser.step()
        schedule.step()
    torch.testing.assert_close(wudi_matrix(taus), tau.detach(), atol=1e-6, rtol=1e-6)


def test_one_task_vector_is_its_own_merge_and_a_zero_task_vector_is_left_out() -> None:
    taus = random_taus(1, 4, 3, seed=1)
    torch.testing.assert_close(wudi_matrix(taus), taus[0])
    with_zero = torch.cat([taus, torch.zeros(1, 4, 3, dtype=torch.float64)])
    torch.testing.assert_close(wudi_matrix(with_zero), taus[0])
    assert torch.equal(wudi_matrix(torch.zeros(2, 4, 3)), torch.zeros(4, 3))


def test_merge_end_point_solves_linear_weights_averages_the_rest_and_transposes_open_clips_proj() -> None:
    generator = torch.Generator().manual_seed(3)
    shapes = {
        "transformer.resblocks.0.attn.in_proj_weight": (6, 2),
        "transformer.resblocks.0.attn.in_proj_bias": (6,),
        "positional_embedding": (5, 2),  # 2-D but added to the tokens: no linear layer
        "conv1.weight": (2, 3, 2, 2),
        "proj": (2, 3),  # x @ proj: in x out
    }
    start = {name: torch.randn(shape, generator=generator) for name, shape in shapes.items()}
    start["steps"] = torch.tensor(4)
    before = {name: t.clone() for name, t in start.items()}
    ends = [
        {**{n: start[n] + torch.randn(s, generator=generator) for n, s in shapes.items()}, "steps": torch.tensor(9)}
        for _ in range(3)
    ]
    ends_before = [{name: t.clone() for name, t in end.items()} for end in ends]
    merged = merge_end_point("wudi", start, ends)
    taus = {name: torch.stack([end[name] - start[name] for end in ends]) for name in shapes}

    def check(name: str, tau: torch.Tensor) -> None:
        torch.testing.assert_close(merged[name], start[name] + tau, atol=1e-5, rtol=1e-5)

    attention = "transformer.resblocks.0.attn.in_proj_weight"
    check(attention, wudi_matrix(taus[attention]))
    check("proj", wudi_matrix(taus["proj"].transpose(1, 2)).T)
    for name in ("transformer.resblocks.0.attn.in_proj_bias", "positional_embedding", "conv1.weight"):
        check(name, taus[name].mean(dim=0))
    assert not torch.allclose(wudi_matrix(taus["proj"]), wudi_matrix(taus["proj"].transpose(1, 2)).T, atol=1e-3)
    assert merged["steps"].item() == 4
    assert all(torch.equal(start[n], before[n]) for n in start)  # inputs untouched
    assert all(torch.equal(e[n], b[n]) for e, b in zip(ends, ends_before, strict=True) for n in e)


def test_steps_runs_the_authors_adam_solver_from_the_sum() -> None:
    # The authors' code: torch.optim.Adam on the loss above, from the sum; here written out on the
    # exact gradient, so it must follow torch's Adam step for step.
    taus = random_taus(3, 5, 4, seed=11).float()
    tau = taus.sum(dim=0).clone().requires_grad_(True)
    optimiser = torch.optim.Adam([tau], lr=1e-2, weight_decay=0)
    for _ in range(50):
        optimiser.zero_grad()
        paper_loss(tau, taus).backward()
        optimiser.step()
    torch.testing.assert_close(wudi_adam(taus, 50, lr=1e-2), tau.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(wudi_adam(taus, 0), taus.sum(dim=0))
    start = {"w": torch.zeros(5, 4), "b": torch.zeros(4)}
    ends = [{"w": t, "b": torch.full((4,), float(i))} for i, t in enumerate(taus)]
    merged = merge_end_point("wudi", start, ends, steps=50, lr=1e-2)
    torch.testing.assert_close(merged["w"], tau.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(merged["b"], torch.ones(4))  # the mean of 0, 1, 2
    with pytest.raises(ValueError, match="steps=-1"):
        merge_end_point("wudi", start, ends, steps=-1)


def test_blocks_only_merges_the_four_block_matrices_and_keeps_the_rest_at_the_start() -> None:
    # The authors' vision code: in_proj, out_proj, c_fc and c_proj of each block; nothing else.
    generator = torch.Generator().manual_seed(5)
    shapes = {
        "transformer.resblocks.0.attn.in_proj_weight": (6, 2),
        "transformer.resblocks.0.attn.out_proj.weight": (2, 2),
        "transformer.resblocks.0.mlp.c_fc.weight": (8, 2),
        "transformer.resblocks.0.mlp.c_proj.weight": (2, 8),
        "transformer.resblocks.0.mlp.c_fc.bias": (8,),
        "proj": (2, 3),
        "ln_post.weight": (2,),
    }
    start = {name: torch.randn(shape, generator=generator) for name, shape in shapes.items()}
    ends = [{n: t + torch.randn(t.shape, generator=generator) for n, t in start.items()} for _ in range(2)]
    merged = merge_end_point("wudi", start, ends, blocks_only=True)
    for name, tensor in start.items():
        if name.startswith("transformer.") and name.endswith("weight"):
            tau = wudi_matrix(torch.stack([end[name] - tensor for end in ends]))
            torch.testing.assert_close(merged[name], tensor + tau, atol=1e-5, rtol=1e-5)
        else:
            assert torch.equal(merged[name], tensor), name
