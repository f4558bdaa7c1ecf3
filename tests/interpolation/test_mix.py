"""Coefficients kept to 6 places, and the two end points (paint_lightning/interpolation/mix.py)."""

from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix, rounded


def test_coefficients_written_differently_are_one_key() -> None:
    assert 0.1 + 0.2 != 0.3 and rounded(0.1 + 0.2) == 0.3
    assert Mix.of(0.1 + 0.2) == Mix.of(0.3) and {Mix.of(0.1 + 0.2): 1}[Mix.of(0.3)] == 1
    assert rounded(1) == 1.0 and isinstance(rounded(1), float)
    assert rounded(0.1234564) == 0.123456 and rounded(0.1234566) == 0.123457


def test_the_end_points_are_alpha_zero_and_one() -> None:
    assert Mix.of(0.0) == ZERO_SHOT and ZERO_SHOT.alpha == 0.0
    assert Mix.of(1) == FINE_TUNED and FINE_TUNED.alpha == 1.0
