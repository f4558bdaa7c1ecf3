"""Mixes: coefficients kept to 6 places, the two end points, parsing (paint_lightning/interpolation/mix.py)."""

import json

import pytest

from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix, rounded


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0.4", Mix.of(0.4)),
        (0.4, Mix.of(0.4)),
        (1, Mix.of(1.0)),
        ("[0.3, 0.5]", Mix.of(0.3, 0.5)),
        ([0.3, 0.5], Mix.of(0.3, 0.5)),
        ('{"embed": 0.2, "*": 0.5}', Mix.of({"embed": 0.2, "*": 0.5})),
        ({"block.0": 0.1, "*": 0.9}, Mix.of({"block.0": 0.1, "*": 0.9})),
        ('[{"embed": 0.0, "*": 1.0}]', Mix.of({"embed": 0.0, "*": 1.0})),
    ],
)
def test_parse_reads_numbers_lists_and_groups(given, expected) -> None:
    assert Mix.parse(given) == expected


@pytest.mark.parametrize("mix", [Mix.of(0.25), Mix.of(0.3, 0.7), Mix.of({"embed": 0.2, "*": 0.5}), Mix.of({"*": 1.0})])
def test_parse_inverts_to_json_as_data_and_as_text(mix) -> None:
    assert Mix.parse(mix.to_json()) == mix
    assert Mix.parse(json.dumps(mix.to_json())) == mix


@pytest.mark.parametrize("bad", ["[]", "null", '"0.4"', "true and false", "{}", "[NaN]"])
def test_parse_refuses_other_shapes_with_a_value_error(bad) -> None:
    with pytest.raises(ValueError):
        Mix.parse(bad)


def test_parse_names_the_accepted_shapes() -> None:
    with pytest.raises(ValueError, match=r"give a number \(0.4\), a list"):
        Mix.parse("[]")


def test_coefficients_written_differently_are_one_key() -> None:
    assert 0.1 + 0.2 != 0.3 and rounded(0.1 + 0.2) == 0.3
    assert Mix.of(0.1 + 0.2) == Mix.of(0.3) and {Mix.of(0.1 + 0.2): 1}[Mix.of(0.3)] == 1
    assert rounded(1) == 1.0 and isinstance(rounded(1), float)
    assert rounded(0.1234564) == 0.123456 and rounded(0.1234566) == 0.123457


def test_the_end_points_are_alpha_zero_and_one() -> None:
    assert Mix.of(0.0) == ZERO_SHOT and ZERO_SHOT.alpha == 0.0
    assert Mix.of(1) == FINE_TUNED and FINE_TUNED.alpha == 1.0
