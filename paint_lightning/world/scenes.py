"""Scenes of the offline world: what is in an image and how it looks.

A :class:`Scene` holds the attributes of one image. :func:`sample_scene` draws attributes and
:func:`render_scene` draws the 32 px picture (captions: :mod:`paint_lightning.world.captions`).
All randomness comes from the ``rng`` passed in, so
``numpy.random.default_rng([seed, index])`` makes image ``index`` of a seed reproducible and
independent of the order in which images are made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from paint_lightning.world.attributes import (
    BACKGROUNDS,
    COLOURS,
    POSITIONS,
    PRINTED_WORDS,
    SHAPES,
    SIZES,
)
from paint_lightning.world.glyphs import draw_handwritten_digit, draw_printed_text
from paint_lightning.world.shapes import draw_shape

IMAGE_SIZE = 32
_SUPERSAMPLE = 4  # drawn at 128 px and box-filtered down, for anti-aliased edges
# Colours that would vanish on a background of the given kind.
_CLASHES = {"light": {"white", "yellow", "pink"}, "dark": set(), "grey": set()}


@dataclass(frozen=True)
class Scene:
    """Attributes of one world image.

    ``kind`` is ``"objects"`` (``count`` shapes of one kind and colour), ``"digit"`` (one digit
    glyph, ``style`` ``"handwritten"`` or ``"printed"``), ``"word"`` (a printed word) or
    ``"blank"`` (background only).
    """

    kind: str
    background: str
    colour: str | None = None
    shape: str | None = None
    count: int = 0
    size: str | None = None
    position: str | None = None
    digit: int | None = None
    style: str | None = None
    word: str | None = None


def _pick(rng: np.random.Generator, options):
    options = list(options)
    return options[int(rng.integers(len(options)))]


def _colour_for(background: str, rng: np.random.Generator) -> str:
    return _pick(rng, [c for c in COLOURS if c not in _CLASHES[background]])


def sample_objects(
    rng: np.random.Generator,
    shape: str | None = None,
    colour: str | None = None,
    count: int | None = None,
) -> Scene:
    """Samples an ``objects`` scene; given attributes are fixed, the rest are random."""
    count = count if count is not None else int(rng.choice([1, 2, 3, 4], p=[0.5, 0.2, 0.15, 0.15]))
    shape = shape or _pick(rng, SHAPES)
    if colour is None:
        background = _pick(rng, BACKGROUNDS)
        colour = _colour_for(background, rng)
    else:
        background = _pick(rng, [b for b in BACKGROUNDS if colour not in _CLASHES[b]])
    size = _pick(rng, SIZES) if count <= 2 else "small"
    position = _pick(rng, POSITIONS) if count == 1 and size == "small" else None
    return Scene("objects", background, colour, shape, count, size, position)


def sample_digit(rng: np.random.Generator, digit: int | None = None) -> Scene:
    """Samples a ``digit`` scene: mostly light ink on a dark background, as scanned digits."""
    digit = digit if digit is not None else int(rng.integers(10))
    style = "handwritten" if rng.random() < 0.7 else "printed"
    if rng.random() < 0.5:
        background, colour = "dark", "white"
    else:
        background = _pick(rng, BACKGROUNDS)
        colour = _colour_for(background, rng)
    return Scene("digit", background, colour, digit=digit, style=style)


def sample_scene(rng: np.random.Generator, digit_share: float = 0.3) -> Scene:
    """Samples any scene of the pretraining mixture.

    Args:
        rng: Random source.
        digit_share: Fraction of digit scenes; the rest are objects (mostly), words and blanks.
    """
    u = rng.random()
    if u < digit_share:
        return sample_digit(rng)
    u = (u - digit_share) / (1 - digit_share)
    if u < 0.88:
        return sample_objects(rng)
    background = _pick(rng, BACKGROUNDS)
    if u < 0.96:
        return Scene("word", background, _colour_for(background, rng), word=_pick(rng, PRINTED_WORDS))
    return Scene("blank", background)


FAMILY_SIZE = 4
# What the members of a family of objects differ in, and how often.
_OBJECT_CONTRASTS = {"shape": 0.45, "colour": 0.2, "count": 0.2, None: 0.15}


def sample_family(rng: np.random.Generator, digit_share: float = 0.3) -> tuple[list[Scene], str | None]:
    """``FAMILY_SIZE`` scenes that are alike except in one attribute, and that attribute's name.

    Families put hard negatives into a contrastive batch: four red circles, squares, stars and
    hearts on the same background can only be told apart by shape, which a randomly drawn batch
    rarely demands. The contrast is ``"shape"``, ``"colour"``, ``"count"``, ``"digit"`` or
    ``None`` (unrelated scenes).
    """
    if rng.random() < digit_share:
        base = sample_digit(rng)
        digits = rng.choice(10, FAMILY_SIZE, replace=False)
        return [replace(base, digit=int(d)) for d in digits], "digit"
    contrasts = list(_OBJECT_CONTRASTS)
    contrast = contrasts[int(rng.choice(len(contrasts), p=list(_OBJECT_CONTRASTS.values())))]
    if contrast is None:
        return [sample_scene(rng, digit_share=0.0) for _ in range(FAMILY_SIZE)], None
    if contrast == "count":
        base = sample_objects(rng, count=4)  # small objects, so every count fits
        return [replace(base, count=c) for c in rng.permutation(4) + 1], "count"
    base = sample_objects(rng)
    if contrast == "shape":
        return [replace(base, shape=str(x)) for x in rng.choice(SHAPES, FAMILY_SIZE, replace=False)], "shape"
    allowed = [c for c in COLOURS if c not in _CLASHES[base.background]]
    return [replace(base, colour=str(x)) for x in rng.choice(allowed, FAMILY_SIZE, replace=False)], "colour"


def _jitter(rgb: tuple[int, int, int], rng: np.random.Generator, sd: float) -> tuple[int, ...]:
    return tuple(int(v) for v in np.clip(np.asarray(rgb) + rng.normal(0, sd, 3), 0, 255))


def _background_rgb(kind: str, rng: np.random.Generator) -> tuple[int, ...]:
    level = {"dark": rng.uniform(0, 45), "light": rng.uniform(195, 250), "grey": rng.uniform(95, 150)}
    return _jitter((level[kind],) * 3, rng, 8)


def _place(rng: np.random.Generator, radii: list[float], position: str | None) -> list[tuple]:
    """Non-overlapping centres for objects of the given radii (32 px units)."""
    lo_hi = {
        "left": ((0.0, 12.0), (10.0, 22.0)),
        "right": ((20.0, 32.0), (10.0, 22.0)),
        "top": ((10.0, 22.0), (0.0, 12.0)),
        "bottom": ((10.0, 22.0), (20.0, 32.0)),
        "middle": ((13.0, 19.0), (13.0, 19.0)),
    }
    centres: list[tuple[float, float]] = []
    for r in radii:
        (x_lo, x_hi), (y_lo, y_hi) = lo_hi.get(position, ((0.0, 32.0), (0.0, 32.0)))
        x_lo, y_lo = max(x_lo, r + 1), max(y_lo, r + 1)
        x_hi, y_hi = min(x_hi, 31 - r), min(y_hi, 31 - r)
        for _ in range(100):
            c = (rng.uniform(x_lo, max(x_lo, x_hi)), rng.uniform(y_lo, max(y_lo, y_hi)))
            if all(math.dist(c, o) >= r + ro + 1 for o, ro in zip(centres, radii, strict=False)):
                break
        centres.append(c)
    return centres


def render_scene(scene: Scene, rng: np.random.Generator, lowres_prob: float = 0.15) -> Image.Image:
    """Draws ``scene`` as a 32x32 RGB image.

    Args:
        scene: What to draw.
        rng: Random source for every detail the scene leaves open (placement, jitter, pen).
        lowres_prob: Chance that a digit glyph is degraded to 8-14 px and blown up again, as
            low-resolution scans look.
    """
    s = _SUPERSAMPLE
    canvas = Image.new("RGB", (IMAGE_SIZE * s, IMAGE_SIZE * s), _background_rgb(scene.background, rng))
    draw = ImageDraw.Draw(canvas)
    ink = _jitter(COLOURS[scene.colour], rng, 14) if scene.colour else None
    if scene.kind == "objects":
        if scene.size == "big":
            radius = rng.uniform(8.5, 12.5) if scene.count == 1 else rng.uniform(6.5, 8)
        else:
            radius = rng.uniform(4.5, 6.0)
        radii = [radius * rng.uniform(0.92, 1.08) for _ in range(scene.count)]
        for (cx, cy), r in zip(_place(rng, radii, scene.position), radii, strict=True):
            angle = rng.normal(0, 0.2)
            draw_shape(draw, scene.shape, (cx * s, cy * s), r * s, angle, ink)
    elif scene.kind == "digit":
        height = rng.uniform(17, 28)
        width = height * rng.uniform(0.5, 0.8)
        cx, cy = 16 + rng.normal(0, 1.5), 16 + rng.normal(0, 1.5)
        if scene.style == "handwritten":
            box = ((cx - width / 2) * s, (cy - height / 2) * s, width * s, height * s)
            draw_handwritten_digit(draw, scene.digit, box, rng.uniform(1.6, 4.2) * s, ink, rng)
        else:
            draw_printed_text(
                draw,
                str(scene.digit),
                (cx * s, cy * s),
                int(height * 1.15 * s),
                ink,
                bold=int(rng.integers(0, 3)) * s // 2,
            )
        if rng.random() < lowres_prob:
            small = int(rng.integers(8, 15))
            canvas = canvas.resize((small, small), Image.Resampling.BOX).resize(canvas.size, Image.Resampling.BILINEAR)
    elif scene.kind == "word":
        size = 10 if len(scene.word) <= 4 else 8
        cx, cy = 16 + rng.normal(0, 1), 16 + rng.normal(0, 3)
        draw_printed_text(draw, scene.word, (cx * s, cy * s), size * s, ink, bold=s // 2)
    image = canvas.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX)
    if rng.random() < 0.1:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    noise_sd = rng.choice([0.0, 0.0, 3.0, 7.0])
    if noise_sd:
        pixels = np.asarray(image, dtype=np.float32) + rng.normal(0, noise_sd, (32, 32, 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return image
