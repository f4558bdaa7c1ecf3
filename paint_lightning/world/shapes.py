"""Filled geometric shapes drawn on a Pillow canvas."""

from __future__ import annotations

import math

import numpy as np
from PIL import ImageDraw


def shape_outline(shape: str, cx: float, cy: float, radius: float, angle: float) -> list[tuple]:
    """Polygon vertices of ``shape`` centred on (cx, cy), rotated by ``angle`` radians.

    Args:
        shape: One of ``attributes.SHAPES``.
        cx: Centre x in canvas pixels.
        cy: Centre y in canvas pixels.
        radius: Half the shape's extent in canvas pixels.
        angle: Rotation in radians.
    """
    if shape == "circle":
        t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        unit = np.stack([np.cos(t), np.sin(t)], 1)
    elif shape == "square":
        unit = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)], dtype=float) * 0.82
    elif shape == "triangle":
        t = -math.pi / 2 + np.arange(3) * 2 * math.pi / 3
        unit = np.stack([np.cos(t), np.sin(t)], 1) * 1.05 + np.array([0.0, 0.18])
    elif shape == "cross":
        a, b = 0.33, 1.0
        # fmt: off
        unit = np.array([(-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a),
                         (a, b), (-a, b), (-a, a), (-b, a), (-b, -a), (-a, -a)])
        # fmt: on
    elif shape == "star":
        t = -math.pi / 2 + np.arange(10) * math.pi / 5
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.42)
        unit = np.stack([np.cos(t) * r, np.sin(t) * r], 1)
    elif shape == "heart":
        t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        unit = np.stack([x, y + 2.5], 1) / 16.5
    else:
        raise ValueError(f"unknown shape {shape!r}")
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    pts = unit @ rot.T * radius + np.array([cx, cy])
    return [tuple(p) for p in pts]


def draw_shape(
    draw: ImageDraw.ImageDraw,
    shape: str,
    centre: tuple[float, float],
    radius: float,
    angle: float,
    fill: tuple[int, int, int],
) -> None:
    """Draws a filled ``shape`` (see :func:`shape_outline`) in colour ``fill``."""
    draw.polygon(shape_outline(shape, centre[0], centre[1], radius, angle), fill=fill)
