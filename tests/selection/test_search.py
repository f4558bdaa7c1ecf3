import pytest

from paint_lightning.selection import adaptive_alpha_search, grid_alphas


def test_grid_is_rounded_and_inclusive() -> None:
    assert grid_alphas(0.1) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert grid_alphas(0.25, 0.5, 1.0) == [0.5, 0.75, 1.0]
    with pytest.raises(ValueError):
        grid_alphas(0.0)


@pytest.mark.parametrize("peak", [0.0, 0.07, 0.33, 0.5, 0.61, 0.99, 1.0])
def test_adaptive_search_finds_the_fine_grid_optimum_with_few_evaluations(peak: float) -> None:
    def curve(alpha: float) -> float:
        return -abs(alpha - peak) + 0.1 * alpha  # unimodal, asymmetric

    calls: list[list[float]] = []

    def score(alphas: list[float]) -> dict[float, float]:
        calls.append(list(alphas))
        return {a: curve(a) for a in alphas}

    best, scores = adaptive_alpha_search(score, grid_alphas(0.1), resolution=0.01)
    fine = grid_alphas(0.01)
    expected = max(fine, key=lambda a: (curve(a), -a))
    assert best == expected
    evaluated = sum(len(c) for c in calls)
    assert evaluated == len(scores) <= 25 < len(fine)
    assert len({a for c in calls for a in c}) == evaluated  # nothing evaluated twice


def test_adaptive_search_needs_a_grid() -> None:
    with pytest.raises(ValueError):
        adaptive_alpha_search(lambda a: {}, [], 0.01)
