"""World tasks of the multi-task demonstrations: positions, glyph digits, labels without rendering."""

import numpy as np
import pytest

from paint_lightning.world import GlyphDigits, HandwrittenDigits, WorldCounts, WorldPositions
from paint_lightning.world.attributes import DIGIT_NUMERALS, POSITIONS


def _ink_centre(image) -> tuple[float, float]:
    pixels = np.asarray(image, dtype=np.float32)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    ink = np.abs(pixels - np.median(border, axis=0)).sum(axis=-1) > 90
    ys, xs = np.nonzero(ink)
    return float(xs.mean()), float(ys.mean())


@pytest.mark.parametrize("content", ["shape", "digit", "word"])
def test_positions_put_the_thing_where_the_label_says(content: str) -> None:
    source = WorldPositions(train_size=10, test_size=40, content=content)
    assert source.classnames == list(POSITIONS.values()) and source.classnames[0] == "on the left"
    data = source.dataset("test")
    for i in range(len(data)):
        image, label = data[i]
        x, y = _ink_centre(image)
        where = list(POSITIONS)[label]
        assert {
            "left": x < 14,
            "right": x > 18,
            "top": y < 14,
            "bottom": y > 18,
            "middle": 11 < x < 21 and 11 < y < 21,
        }[where], (content, i, where, x, y)


def test_positions_differ_by_content_and_refuse_unknown_content() -> None:
    shape = np.asarray(WorldPositions(test_size=5).dataset("test")[0][0])
    digit = np.asarray(WorldPositions(test_size=5, content="digit").dataset("test")[0][0])
    assert not np.array_equal(shape, digit)
    assert WorldPositions(content="digit").fingerprint("test") != WorldPositions().fingerprint("test")
    with pytest.raises(ValueError, match="content must be one of"):
        WorldPositions(content="letter")


def test_glyph_digits_styles_backgrounds_and_labels() -> None:
    source = GlyphDigits(train_size=20, test_size=20, background="light", style="printed")
    assert source.classnames == list(DIGIT_NUMERALS)
    image, label = source.dataset("test")[3]
    assert label == 3 and image.size == (32, 32)
    assert np.median(np.asarray(image)) > 150  # a light background
    dark = GlyphDigits(train_size=20, test_size=20, background="dark").dataset("test")[3][0]
    assert np.median(np.asarray(dark)) < 100
    with pytest.raises(ValueError, match="style must be one of"):
        GlyphDigits(style="cursive")
    with pytest.raises(ValueError, match="background must be one of"):
        GlyphDigits(background="blue")


@pytest.mark.parametrize(
    "source",
    [
        WorldCounts(train_size=9, test_size=7),
        WorldPositions(train_size=8, test_size=6),
        HandwrittenDigits(test_size=30),
    ],
    ids=["counts", "positions", "handwritten"],
)
def test_labels_match_the_rendered_items(source) -> None:
    for split in ("train", "test"):
        data = source.dataset(split)
        labels = source.labels(split)
        assert len(labels) == len(data)
        assert labels[:12] == [data[i][1] for i in range(min(12, len(data)))]
