"""The closed vocabulary of the offline world: shapes, colours, counts, sizes, places, digits.

Everything the renderer can draw and every word a caption can use is listed here, so the
tokens a world checkpoint needs are known in advance.
"""

from __future__ import annotations

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "star", "heart")
SHAPE_PLURALS: dict[str, str] = {
    "circle": "circles",
    "square": "squares",
    "triangle": "triangles",
    "cross": "crosses",
    "star": "stars",
    "heart": "hearts",
}

# Nominal RGB of each colour name; rendered colours are jittered around these.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "orange": (245, 135, 20),
    "yellow": (240, 220, 35),
    "green": (35, 165, 55),
    "blue": (35, 75, 225),
    "purple": (135, 50, 190),
    "pink": (245, 125, 190),
    "white": (245, 245, 245),
}

COUNT_WORDS: tuple[str, ...] = ("one", "two", "three", "four")
SIZES: tuple[str, ...] = ("small", "big")
# Where a single object sits; phrases as they appear in captions.
POSITIONS: dict[str, str] = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "middle": "in the middle",
}
BACKGROUNDS: tuple[str, ...] = ("dark", "light", "grey")

DIGIT_NUMERALS: tuple[str, ...] = tuple(str(d) for d in range(10))
DIGIT_WORDS: tuple[str, ...] = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
)
# Words that printed-word scenes may show (kept inside the caption vocabulary).
PRINTED_WORDS: tuple[str, ...] = (*COLOURS, *SHAPES, "cat", "dog", "sun", "tree", "car", "boat")
