"""Task vectors one tensor at a time, and the exact streaming magnitude threshold (TIES)."""

import pytest
import torch

from paint_lightning.interpolation.task_vectors import TaskVectors, kth_largest_magnitudes

SHAPES = {"a": (7, 3), "b": (5,), "c": (3, 1, 11), "d": (1,)}  # odd sizes, 60 entries


def points(seed: int, n: int, ties: bool) -> tuple[dict, list[dict]]:
    generator = torch.Generator().manual_seed(seed)

    def draw(shape: tuple) -> torch.Tensor:
        if ties:  # few distinct magnitudes, both signs, zeros: many ties around any threshold
            return torch.randint(-3, 4, shape, generator=generator).float() * 0.25
        return torch.randn(shape, generator=generator)

    start = {name: draw(shape) for name, shape in SHAPES.items()}
    start["count"] = torch.tensor(3)  # not floating point: no task vector
    ends = [{name: (t + draw(t.shape) if t.is_floating_point() else t) for name, t in start.items()} for _ in range(n)]
    return start, ends


def flat_kth_largest(start: dict, ends: list[dict], keep: int) -> list[float]:
    """The reference: concatenate each whole task vector, take torch.kthvalue of its magnitudes."""
    names = [n for n, t in start.items() if t.is_floating_point()]
    values = []
    for end in ends:
        row = torch.cat([(end[n].float() - start[n].float()).flatten() for n in names]).abs()
        values.append(row.kthvalue(row.numel() - keep + 1).values.item())
    return values


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("keep", [1, 2, 15, 29, 30, 59, 60])
def test_streaming_threshold_equals_the_flat_kth_largest_magnitude(ties: bool, keep: int) -> None:
    start, ends = points(seed=keep, n=3, ties=ties)
    vectors = TaskVectors(start, ends)
    assert vectors.numel == 60
    expected = flat_kth_largest(start, ends, keep)
    assert kth_largest_magnitudes(vectors, keep).tolist() == expected


def test_threshold_of_values_that_share_their_high_bits_is_exact() -> None:
    # 1.0, its next floats and 1.5 share the upper 16 bits: the second pass must pick among them.
    base = torch.tensor(1.0)
    values = torch.stack([base, torch.nextafter(base, torch.tensor(2.0)), torch.tensor(1.5), -base, torch.tensor(0.0)])
    start = {"w": torch.zeros(5)}
    ends = [{"w": values}, {"w": values.flip(0)}]
    for keep in range(1, 6):
        assert kth_largest_magnitudes(TaskVectors(start, ends), keep).tolist() == flat_kth_largest(start, ends, keep)


def test_stacked_task_vectors_are_float32_end_minus_start_of_one_name() -> None:
    start = {"w": torch.tensor([1.0, 2.0], dtype=torch.float16), "n": torch.tensor([4])}
    ends = [{"w": torch.tensor([2.0, 0.0], dtype=torch.float16), "n": torch.tensor([9])}]
    vectors = TaskVectors(start, ends)
    assert vectors.names == ["w"] and len(vectors) == 1
    stacked = vectors.stacked("w")
    assert stacked.dtype == torch.float32 and stacked.tolist() == [[1.0, -2.0]]


def test_a_non_finite_task_vector_is_refused_naming_the_end_point_and_tensor() -> None:
    start, ends = points(seed=0, n=2, ties=False)
    ends[1]["c"] = ends[1]["c"].clone()
    ends[1]["c"][0, 0, 4] = float("nan")
    with pytest.raises(ValueError, match="end point 1 has a non-finite entry in 'c'"):
        kth_largest_magnitudes(TaskVectors(start, ends), 10)
