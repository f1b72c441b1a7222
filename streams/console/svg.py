"""Line charts as inline SVG: the model's error curve and a worker's quality, with no JavaScript
and no image files (matplotlib's PNG stays with ``crowdlog prediction plot``).

Only numbers reach the markup (coordinates are formatted floats) and labels are escaped, so a
chart cannot carry markup from the index into the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
WIDTH, HEIGHT, PAD = 640, 240, 44


def _scale(low: float, high: float, size: float, flip: bool) -> tuple[float, float]:
    """Slope and offset mapping [low, high] onto [0, size] (upside down when ``flip``)."""
    span = high - low or 1.0
    slope = size / span
    return (-slope, size + low * slope) if flip else (slope, -low * slope)


def line_chart(series: Mapping[str, Sequence[tuple[float, float]]], *, x_label: str,
               y_label: str, log_x: bool = False) -> Markup:
    """One SVG with a polyline per series (name -> (x, y) points), axes labelled with their
    ranges. ``log_x`` plots x on a log scale (x must then be positive).

    >>> svg = line_chart({"error": [(1, 2.0), (10, 1.0)]}, x_label="n", y_label="e")
    >>> svg.startswith("<svg") and "polyline" in svg
    True
    >>> "<b>" in line_chart({"<b>": [(0, 0)]}, x_label="", y_label="")
    False
    """
    def fx(x: float) -> float:
        return math.log10(x) if log_x else x

    points = [(fx(x), y) for values in series.values() for x, y in values]
    if not points:
        return Markup('<p class="empty">nothing to plot yet</p>')
    x_low, x_high = min(p[0] for p in points), max(p[0] for p in points)
    y_low, y_high = min(0.0, *(p[1] for p in points)), max(p[1] for p in points)
    ax, bx = _scale(x_low, x_high, WIDTH - 2 * PAD, flip=False)
    ay, by = _scale(y_low, y_high, HEIGHT - 2 * PAD, flip=True)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img" class="chart">',
             f'<g transform="translate({PAD},{PAD / 2})">',
             f'<rect width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}" fill="none" '
             'stroke="#bbb"/>']
    for i, (name, values) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        coords = " ".join(f"{ax * fx(x) + bx:.1f},{ay * y + by:.1f}" for x, y in values)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                     f'points="{coords}"/>')
        parts.append(f'<text x="{8 + 200 * i}" y="14" fill="{colour}" font-size="12">'
                     f'{escape(name)}</text>')
    bottom = HEIGHT - 2 * PAD
    x_first, x_last = (10 ** x_low, 10 ** x_high) if log_x else (x_low, x_high)
    parts += [
        f'<text x="0" y="{bottom + 14}" font-size="11">{x_first:,.4g}</text>',
        f'<text x="{WIDTH - 2 * PAD}" y="{bottom + 14}" font-size="11" text-anchor="end">'
        f'{x_last:,.4g}</text>',
        f'<text x="{(WIDTH - 2 * PAD) / 2}" y="{bottom + 28}" font-size="11" '
        f'text-anchor="middle">{escape(x_label)}{" (log scale)" if log_x else ""}</text>',
        f'<text x="-4" y="{bottom}" font-size="11" text-anchor="end">{y_low:,.3g}</text>',
        f'<text x="-4" y="10" font-size="11" text-anchor="end">{y_high:,.3g}</text>',
        f'<text x="-30" y="{bottom / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 -30 {bottom / 2})">{escape(y_label)}</text>',
        "</g></svg>",
    ]
    return Markup("".join(parts))
