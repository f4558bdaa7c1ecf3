"""Digit glyphs and printed words: pen-stroke "handwriting" and the font Pillow ships.

Handwritten digits are smooth pen strokes through jittered control points of a few letter
forms per digit (open and closed 4, 7 with and without a bar, ...), so no system font is
needed and the glyphs are the same on every machine with the same Pillow.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import ImageDraw, ImageFont

Point = tuple[float, float]
Stroke = tuple[bool, tuple[Point, ...]]  # (closed, control points in a unit box, y down)

_ELLIPSE = tuple((0.5 + 0.32 * math.cos(t), 0.5 + 0.45 * math.sin(t)) for t in np.linspace(0, 2 * math.pi, 9)[:-1])

# Letter forms per digit; each form is a list of strokes drawn as Catmull-Rom splines.
# fmt: off
DIGIT_FORMS: dict[int, tuple[tuple[Stroke, ...], ...]] = {
    0: (
        ((True, _ELLIPSE),),
        ((False, ((0.62, 0.1), (0.35, 0.12), (0.2, 0.5), (0.35, 0.92), (0.65, 0.9),
                  (0.8, 0.5), (0.66, 0.12), (0.45, 0.06))),),
    ),
    1: (
        ((False, ((0.5, 0.05), (0.5, 0.95))),),
        ((False, ((0.3, 0.28), (0.55, 0.05), (0.55, 0.95))),),
        (
            (False, ((0.3, 0.25), (0.52, 0.05), (0.52, 0.95))),
            (False, ((0.28, 0.95), (0.76, 0.95))),
        ),
    ),
    2: (
        ((False, ((0.2, 0.3), (0.38, 0.07), (0.66, 0.08), (0.78, 0.3), (0.55, 0.58),
                  (0.2, 0.94), (0.52, 0.93), (0.85, 0.94))),),
        ((False, ((0.22, 0.25), (0.5, 0.05), (0.76, 0.25), (0.45, 0.65), (0.18, 0.95),
                  (0.45, 0.82), (0.85, 0.92))),),
    ),
    3: (
        ((False, ((0.2, 0.15), (0.5, 0.05), (0.76, 0.2), (0.68, 0.4), (0.42, 0.5),
                  (0.76, 0.62), (0.78, 0.84), (0.5, 0.96), (0.18, 0.86))),),
        ((False, ((0.2, 0.07), (0.8, 0.07), (0.45, 0.42), (0.76, 0.6), (0.76, 0.84),
                  (0.5, 0.96), (0.18, 0.86))),),
    ),
    4: (
        ((False, ((0.66, 0.95), (0.66, 0.05), (0.15, 0.66), (0.88, 0.66))),),
        (
            (False, ((0.28, 0.05), (0.2, 0.6), (0.86, 0.6))),
            (False, ((0.66, 0.28), (0.64, 0.96))),
        ),
    ),
    5: (
        (
            (False, ((0.8, 0.07), (0.3, 0.07))),
            (False, ((0.3, 0.07), (0.25, 0.45), (0.55, 0.38), (0.8, 0.58), (0.74, 0.86),
                     (0.48, 0.97), (0.2, 0.87))),
        ),
        ((False, ((0.8, 0.07), (0.32, 0.07), (0.27, 0.45), (0.6, 0.42), (0.8, 0.68),
                  (0.6, 0.94), (0.22, 0.9))),),
    ),
    6: (
        ((False, ((0.72, 0.07), (0.42, 0.22), (0.26, 0.55), (0.3, 0.86), (0.52, 0.96),
                  (0.74, 0.8), (0.7, 0.58), (0.48, 0.5), (0.27, 0.64))),),
        ((False, ((0.6, 0.04), (0.32, 0.45), (0.3, 0.85), (0.55, 0.96), (0.76, 0.76),
                  (0.55, 0.55), (0.3, 0.68))),),
    ),
    7: (
        ((False, ((0.15, 0.07), (0.85, 0.07), (0.42, 0.95))),),
        (
            (False, ((0.15, 0.1), (0.85, 0.07), (0.45, 0.95))),
            (False, ((0.35, 0.5), (0.78, 0.5))),
        ),
        ((False, ((0.15, 0.2), (0.2, 0.07), (0.85, 0.07), (0.62, 0.5), (0.5, 0.95))),),
    ),
    8: (
        ((True, ((0.5, 0.5), (0.76, 0.3), (0.5, 0.05), (0.24, 0.28), (0.5, 0.5),
                 (0.78, 0.72), (0.5, 0.96), (0.22, 0.72))),),
        (
            (True, ((0.5, 0.05), (0.74, 0.26), (0.5, 0.47), (0.27, 0.26))),
            (True, ((0.5, 0.47), (0.8, 0.72), (0.5, 0.96), (0.2, 0.72))),
        ),
    ),
    9: (
        (
            (True, ((0.74, 0.3), (0.5, 0.05), (0.26, 0.24), (0.36, 0.48), (0.62, 0.46))),
            (False, ((0.74, 0.22), (0.72, 0.6), (0.68, 0.95))),
        ),
        (
            (True, ((0.74, 0.3), (0.5, 0.05), (0.26, 0.24), (0.36, 0.48), (0.62, 0.46))),
            (False, ((0.75, 0.25), (0.72, 0.7), (0.5, 0.96), (0.28, 0.86))),
        ),
    ),
}
# fmt: on


def _catmull_rom(points: np.ndarray, closed: bool, samples: int = 8) -> np.ndarray:
    """Dense points of a Catmull-Rom spline through ``points`` (a polyline if only two)."""
    if len(points) < 3:
        return points
    if closed:
        ext = np.concatenate([points[-1:], points, points[:2]])
        segments = len(points)
    else:
        ext = np.concatenate([2 * points[:1] - points[1:2], points, 2 * points[-1:] - points[-2:-1]])
        segments = len(points) - 1
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    out = []
    for i in range(segments):
        p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
        out.append(
            0.5
            * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    out.append(ext[segments + 1][None] if not closed else ext[1][None])
    return np.concatenate(out)


def draw_handwritten_digit(
    draw: ImageDraw.ImageDraw,
    digit: int,
    box: tuple[float, float, float, float],
    pen_width: float,
    ink: tuple[int, int, int],
    rng: np.random.Generator,
    wobble: float = 0.035,
) -> None:
    """Draws ``digit`` as jittered pen strokes inside ``box`` = (x0, y0, width, height).

    Args:
        draw: Drawing context of the (supersampled) canvas.
        digit: 0 to 9.
        box: Where the glyph goes, in canvas pixels.
        pen_width: Stroke width in canvas pixels.
        ink: Stroke colour.
        rng: Source of the letter form, jitter, slant and rotation.
        wobble: Standard deviation of control-point jitter, in glyph units.
    """
    forms = DIGIT_FORMS[digit]
    form = forms[int(rng.integers(len(forms)))]
    slant = rng.uniform(-0.3, 0.25)
    angle = rng.normal(0.0, 0.12)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    x0, y0, w, h = box
    for closed, ctrl in form:
        pts = np.asarray(ctrl, dtype=np.float64) + rng.normal(0.0, wobble, (len(ctrl), 2))
        pts = _catmull_rom(pts, closed)
        if closed:
            pts = np.concatenate([pts, pts[:1]])
        # Slant (italic shear), then a small rotation about the glyph centre.
        cx, cy = pts[:, 0] - 0.5 + slant * (0.5 - pts[:, 1]), pts[:, 1] - 0.5
        xs = cos_a * cx - sin_a * cy + 0.5
        ys = sin_a * cx + cos_a * cy + 0.5
        coords = [(x0 + x * w, y0 + y * h) for x, y in zip(xs, ys, strict=True)]
        draw.line(coords, fill=ink, width=max(1, round(pen_width)), joint="curve")
        radius = pen_width / 2
        for x, y in (coords[0], coords[-1]):  # round pen caps
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=ink)


@lru_cache(maxsize=64)
def builtin_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font (Aileron Regular) at ``size`` px; no system fonts are used."""
    return ImageFont.load_default(size=size)


def draw_printed_text(
    draw: ImageDraw.ImageDraw,
    text: str,
    centre: tuple[float, float],
    size: int,
    ink: tuple[int, int, int],
    bold: int = 0,
) -> None:
    """Draws ``text`` centred on ``centre`` with Pillow's bundled font.

    Args:
        draw: Drawing context.
        text: What to write.
        centre: Centre of the text in canvas pixels.
        size: Font size in canvas pixels.
        ink: Text colour.
        bold: Extra stroke width in canvas pixels (0 for regular weight).
    """
    draw.text(
        centre,
        text,
        fill=ink,
        font=builtin_font(size),
        anchor="mm",
        stroke_width=bold,
        stroke_fill=ink,
    )
