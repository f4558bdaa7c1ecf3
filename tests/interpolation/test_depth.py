import pytest

from paint_lightning.interpolation.depth import as_scalar, depth_schedule, slopes


def test_depth_schedule_is_linear_in_depth_around_its_level() -> None:
    groups = ["head", "block.1", "embed", "block.0"]  # any order in, depth order out
    schedule = depth_schedule(groups, level=0.4, slope=0.3)
    assert list(schedule) == ["embed", "block.0", "block.1", "head"]
    assert schedule == {"embed": 0.25, "block.0": 0.35, "block.1": 0.45, "head": 0.55}
    assert sum(schedule.values()) / 4 == pytest.approx(0.4)


def test_zero_slope_is_the_global_alpha_and_one_group_gets_the_level() -> None:
    assert as_scalar(depth_schedule(["embed", "block.0", "head"], 0.3, 0.0)) == 0.3
    assert depth_schedule(["stage.2"], 0.3, 0.5) == {"stage.2": 0.3}
    assert as_scalar({"a": 0.1, "b": 0.2}) is None
    with pytest.raises(ValueError, match="at least one"):
        depth_schedule([], 0.3, 0.1)


def test_slopes_are_the_differences_of_grid_values() -> None:
    assert slopes([0.0, 0.5, 1.0]) == [-1.0, -0.5, 0.0, 0.5, 1.0]
