"""Merge methods on hand-made tensors whose merged values are worked out by hand below."""

import math

import pytest
import torch

from paint_lightning.interpolation.merges import MERGES, merge_end_point

ZERO = {
    "w": torch.zeros(2, 2),
    "b": torch.zeros(2),
    "steps": torch.tensor(7),  # not floating point: keeps the start's value
}


def end(w: list[list[float]], b: list[float], steps: int = 99) -> dict[str, torch.Tensor]:
    return {
        "w": torch.tensor(w, dtype=torch.float32),
        "b": torch.tensor(b, dtype=torch.float32),
        "steps": torch.tensor(steps),
    }


def close(actual: torch.Tensor, expected: list) -> None:
    torch.testing.assert_close(actual, torch.tensor(expected, dtype=actual.dtype), atol=1e-5, rtol=1e-5)


def test_task_arithmetic_adds_task_vectors_to_the_start() -> None:
    start = {"w": torch.ones(2, 2), "b": torch.tensor([1.0, 2.0]), "steps": torch.tensor(7)}
    a = end([[2, 1], [1, 1]], [1, 5])  # tau_a = [[1, 0], [0, 0]], [0, 3]
    b = end([[1, 1], [1, 0]], [3, 2])  # tau_b = [[0, 0], [0, -1]], [2, 0]
    merged = merge_end_point("task_arithmetic", start, [a, b])
    close(merged["w"], [[2, 1], [1, 0]])
    close(merged["b"], [3, 5])
    assert merged["steps"].item() == 7
    assert start["w"].sum().item() == 4  # inputs untouched


def test_ties_trims_the_whole_vector_elects_signs_and_averages_agreeing_entries() -> None:
    # Task vectors over the 6 floats (w row-major, then b), density 0.5 -> keep the 3 largest.
    # tau_1 = [3, -1, 0.5, -2 | 0.4, 2.5]  keeps 3, -2, 2.5          -> [3, 0, 0, -2 | 0, 2.5]
    # tau_2 = [-4, 2, 0.1, -1 | 1.5, 0.2]  keeps -4, 2, 1.5          -> [-4, 2, 0, 0 | 1.5, 0]
    # (per tensor, tau_1's b would keep 2.5 *and* nothing else only by chance: here the whole vector
    # counts, so tau_1's 0.4 in b is dropped while tau_2's 1.5 in b is kept.)
    # sums: [-1, 2, 0, -2 | 1.5, 2.5] -> signs [-, +, 0, -, +, +]; the zero takes the majority sign
    # (sum of signs = +1 -> +).
    # disjoint mean: [-4 (tau_2 only), 2, 0 (nothing kept), -2, 1.5, 2.5]
    tau1 = end([[3, -1], [0.5, -2]], [0.4, 2.5])
    tau2 = end([[-4, 2], [0.1, -1]], [1.5, 0.2])
    merged = merge_end_point("ties", ZERO, [tau1, tau2], density=0.5)
    close(merged["w"], [[-4, 2], [0, -2]])
    close(merged["b"], [1.5, 2.5])
    assert merged["steps"].item() == 7


def test_ties_averages_only_entries_that_agree_with_the_elected_sign() -> None:
    # Three tasks, nothing trimmed (density 1). Entry 0: 3 + 1 - 2 = 2 > 0 -> mean(3, 1) = 2.
    # Entry 1: -1 - 3 + 2 = -2 < 0 -> mean(-1, -3) = -2. b: 0.5 only from tau_3 -> 0.5; -6 and 6
    # and 0.5 sum to 0.5 > 0 -> mean(6, 0.5) = 3.25.
    t1 = end([[3, -1], [0, 0]], [0, -6])
    t2 = end([[1, -3], [0, 0]], [0, 6])
    t3 = end([[-2, 2], [0, 0]], [0.5, 0.5])
    merged = merge_end_point("ties", ZERO, [t1, t2, t3], density=1.0)
    close(merged["w"], [[2, -2], [0, 0]])
    close(merged["b"], [0.5, 3.25])


def test_iso_c_flattens_the_spectrum_of_summed_matrices_and_averages_the_rest() -> None:
    # Sum of w = [[0, 3], [1, 0]] = [[0, 1], [1, 0]] @ diag(1, 3): singular values 3 and 1, orthogonal
    # polar factor [[0, 1], [1, 0]], so Iso-C gives mean(3, 1) = 2 times it. b: mean of [1, 2], [3, 0].
    a = end([[0, 3], [0, 0]], [1, 2])
    b = end([[0, 0], [1, 0]], [3, 0])
    merged = merge_end_point("iso_c", ZERO, [a, b])
    close(merged["w"], [[0, 2], [2, 0]])
    close(merged["b"], [2, 1])
    assert merged["steps"].item() == 7


def test_tsv_keeps_each_tasks_top_components_and_decorrelates_them() -> None:
    # Orthogonal case: tau_1 = diag(4, 1) keeps (e1, 4, e1); tau_2 = diag(0, 2) keeps (e2, 2, e2).
    merged = merge_end_point("tsv", ZERO, [end([[4, 0], [0, 1]], [1, 0]), end([[0, 0], [0, 2]], [0, 1])])
    close(merged["w"], [[4, 0], [0, 2]])
    close(merged["b"], [0.5, 0.5])
    # Overlapping left vectors: tau_2 = [[0, 3], [0, 3]] = u s v^T with u = (1, 1)/sqrt 2, s = 3 sqrt 2,
    # v = e2. U = [[1, r], [0, r]] (r = 1/sqrt 2) is replaced by its polar factor, the rotation
    # [[p, r], [-r, p]] / n with p = 1 + r, n = sqrt(p^2 + r^2) (for 2x2 M = [[a, b], [c, d]] with
    # det > 0 the closest rotation is [[a + d, b - c], [c - b, a + d]] normalised); V = I stays.
    merged = merge_end_point("tsv", ZERO, [end([[4, 0], [0, 1]], [0, 0]), end([[0, 3], [0, 3]], [0, 0])])
    r = 1 / math.sqrt(2)
    p = 1 + r
    n = math.hypot(p, r)
    rotation = [[p / n, r / n], [-r / n, p / n]]
    s = [4.0, 3 * math.sqrt(2)]
    close(merged["w"], [[rotation[i][j] * s[j] for j in range(2)] for i in range(2)])


@pytest.mark.parametrize("method", sorted(MERGES))
def test_every_method_keeps_start_names_dtypes_and_integer_buffers(method: str) -> None:
    start = {"w": torch.randn(4, 3, dtype=torch.float64), "b": torch.randn(3).half(), "n": torch.tensor([1, 2])}
    ends = [
        {"w": start["w"] + torch.randn(4, 3, dtype=torch.float64), "b": start["b"] + 1, "n": torch.tensor([5, 6])}
        for _ in range(2)
    ]
    merged = merge_end_point(method, start, ends)
    assert list(merged) == list(start)
    assert [t.dtype for t in merged.values()] == [t.dtype for t in start.values()]
    assert merged["n"].tolist() == [1, 2]
    assert not torch.equal(merged["w"], start["w"])


def test_one_end_point_is_kept_by_task_arithmetic_and_tsv() -> None:
    start = {"w": torch.randn(5, 3)}
    ft = {"w": start["w"] + torch.randn(5, 3)}
    for method in ("task_arithmetic", "tsv"):
        torch.testing.assert_close(merge_end_point(method, start, [ft])["w"], ft["w"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("method", "ends", "options", "message"),
    [
        ("average", [ZERO], {}, "unknown"),
        ("ties", [], {}, "at least one"),
        ("ties", [ZERO], {"density": 0.0}, "density"),
        ("iso_c", [ZERO], {"density": 0.5}, "no options"),
        ("task_arithmetic", [{"w": torch.zeros(3, 2), "b": torch.zeros(2), "steps": torch.tensor(1)}], {}, "shape"),
    ],
)
def test_bad_requests_are_refused(method: str, ends: list, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge_end_point(method, ZERO, ends, **options)


def flat_ties(start: dict, ends: list[dict], density: float) -> dict[str, torch.Tensor]:
    """The whole-model flat TIES (of 09c0260): every task vector concatenated into one row."""
    names = [n for n, t in start.items() if t.is_floating_point()]
    flat = torch.stack([torch.cat([(e[n].float() - start[n].float()).flatten() for n in names]) for e in ends])
    keep = math.ceil(density * flat.shape[1])
    rows = []
    for row in flat:
        threshold = row.abs().kthvalue(row.numel() - keep + 1).values if keep < row.numel() else 0.0
        rows.append(torch.where(row.abs() >= threshold, row, torch.zeros_like(row)))
    trimmed = torch.stack(rows)
    elected = torch.sign(trimmed.sum(dim=0))
    majority = torch.sign(elected.sum())
    elected[elected == 0] = majority if majority != 0 else 1.0
    agree = torch.where(elected > 0, trimmed > 0, trimmed < 0)
    merged = (trimmed * agree).sum(dim=0) / agree.sum(dim=0).clamp(min=1)
    out, offset = {}, 0
    for n in names:
        size = start[n].numel()
        out[n] = (start[n].float() + merged[offset : offset + size].view(start[n].shape)).to(start[n].dtype)
        offset += size
    return out


@pytest.mark.parametrize("density", [0.05, 0.2, 0.5, 1.0])
@pytest.mark.parametrize("quantised", [False, True])
def test_ties_tensor_by_tensor_equals_the_flat_whole_model_ties_bit_for_bit(density: float, quantised: bool) -> None:
    generator = torch.Generator().manual_seed(int(density * 100))
    shapes = {"conv": (4, 3, 3, 3), "w": (17, 9), "b": (9,), "ln": (13,), "cls": (1, 1, 9)}

    def draw(shape: tuple) -> torch.Tensor:
        values = torch.randn(shape, generator=generator)
        return (values * 2).round() / 2 if quantised else values  # ties in magnitude and in the sums

    start = {name: draw(shape) for name, shape in shapes.items()}
    ends = [{name: t + draw(t.shape) for name, t in start.items()} for _ in range(3)]
    merged = merge_end_point("ties", start, ends, density=density)
    expected = flat_ties(start, ends, density)
    for name in shapes:
        assert torch.equal(merged[name], expected[name]), name


class Recorder(dict):
    """End point that records the names read from it, into a log shared by all end points."""

    def __init__(self, tensors: dict, log: list, index: int) -> None:
        super().__init__(tensors)
        self.log, self.index = log, index

    def __getitem__(self, name: str) -> torch.Tensor:
        self.log.append((name, self.index))
        return super().__getitem__(name)


@pytest.mark.parametrize("method", sorted(MERGES))
def test_merges_read_the_end_points_one_tensor_name_at_a_time(method: str) -> None:
    # Tensor by tensor: every end point's "w" is read, merged and dropped before any "b" is read
    # (a flat merge reads every tensor of end point 0, then every tensor of end point 1).
    start = {"w": torch.randn(4, 3), "b": torch.randn(3)}
    log: list = []
    ends = [Recorder({n: t + i + 1 for n, t in start.items()}, log, i) for i in range(2)]
    merge_end_point(method, start, ends)
    reads = [entry for entry in log if entry[0] in start]
    last_pass = reads[-4:]
    assert last_pass == [("w", 0), ("w", 1), ("b", 0), ("b", 1)]


def test_merges_compute_on_the_given_device_and_return_on_out_device() -> None:
    start = {"w": torch.randn(4, 3, dtype=torch.float64), "n": torch.tensor([1])}
    ends = [{"w": start["w"] + 1, "n": torch.tensor([2])}, {"w": start["w"] - 0.5, "n": torch.tensor([3])}]
    here = merge_end_point("ties", start, ends, density=0.5)
    moved = merge_end_point("ties", start, ends, device="cpu", out_device=torch.device("cpu"), density=0.5)
    assert all(torch.equal(here[k], moved[k]) for k in start) and moved["n"].tolist() == [1]


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("ties", {"dens": 0.5}, "options: 'dens' is not an option of merge method 'ties', which takes density"),
        ("ties", {"density": "0.5"}, r"ties.density='0.5' is a str; give a float"),
        ("ties", {"density": True}, r"ties.density=True is a bool; give a float"),
        ("tsv", {"density": 0.5}, "not an option of merge method 'tsv', which takes no options"),
    ],
)
def test_a_wrong_option_names_the_method_and_the_options_it_takes(method: str, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge_end_point(method, ZERO, [ZERO], **options)


def test_each_merge_is_searched_over_its_published_range_within_the_budget() -> None:
    from paint_lightning.interpolation.merges import MERGES, coefficient_grid

    assert coefficient_grid("ties", 31) == tuple(i / 10 for i in range(26))  # 0 to 2.5 by 0.1 (TIES's scripts)
    assert coefficient_grid("task_arithmetic", 31) == tuple(i / 10 for i in range(11))
    thinned = coefficient_grid("tsv", 21)  # 0..3 by 0.1 is 31 values: the step doubles
    assert thinned == tuple(round(i * 0.2, 9) for i in range(16)) and len(set(thinned) | {1.0}) <= 21
    assert coefficient_grid("ties", 3) == (0.0, 2.5)  # with 1.0, measured as the reference: 3 evaluations
    with pytest.raises(ValueError, match="at least 3 evaluations"):
        coefficient_grid("ties", 2)
    assert all(method.top >= 1.0 and method.range_source for method in MERGES.values())
