"""Heatmaps of a wrong array output: expected, the student's, and the difference, as one small SVG.

Drawn by hand, like the class charts (grader.batch.charts): a heatmap of a few dozen entries is
a grid of rectangles, which costs microseconds and gives the same bytes every time; a plotting
library would cost a second of import and tens of milliseconds per figure in every grading
process of a batch. Diverging colours (blue below zero, red above), one scale for the three
panels so that sizes compare; a difference too small to see on it gets a scale of its own.
Without the reference's values (`--feedback hints`), only the difference's pattern is drawn,
with no numbers at all.
"""
from __future__ import annotations

import html
import math
from collections.abc import Sequence

from grader.records import Comparison

_STOPS = ((-1.0, (33, 102, 172)), (-0.5, (146, 197, 222)), (0.0, (247, 247, 247)), (0.5, (244, 165, 130)),
          (1.0, (178, 24, 43)))
_NOT_FINITE = "#616161"
_GAP = 18
_TITLE = 18
_CAPTION = 16
_LEGEND = 34
_OWN_SCALE = 0.05
"""A difference smaller than this share of the values' scale is drawn on its own scale (else it would look white)."""


def colour(value: float, limit: float) -> str:
    """The diverging colour of `value` on a scale from −limit to +limit (grey for NaN or infinity)."""
    if not math.isfinite(value):
        return _NOT_FINITE
    position = max(-1.0, min(1.0, value / limit)) if limit > 0 else 0.0
    for (low, low_rgb), (high, high_rgb) in zip(_STOPS, _STOPS[1:]):
        if position <= high:
            share = (position - low) / (high - low)
            rgb = (round(a + (b - a) * share) for a, b in zip(low_rgb, high_rgb))
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#{:02x}{:02x}{:02x}".format(*_STOPS[-1][1])


def heatmap_svg(comparison: Comparison) -> str:
    """Expected, yours and yours − expected side by side (or the difference's pattern alone), with their scales."""
    rows, columns = comparison.shape
    side = max(8, min(22, 150 // max(rows, columns)))
    width, height = columns * side, rows * side
    difference = comparison.difference
    panels: list[tuple[str, Sequence[float], float]] = []
    legends: list[tuple[str, float | None]] = []
    if comparison.expected is not None and comparison.got is not None:
        limit = _largest((*comparison.expected, *comparison.got)) or 1.0
        gap = _largest(difference)
        own = 0 < gap < _OWN_SCALE * limit
        panels += [("expected", comparison.expected, limit), ("yours", comparison.got, limit),
                    ("yours − expected", difference, gap if own else limit)]
        legends.append(("expected and yours" if own else "all three", limit))
        if own:
            legends.append(("yours − expected", gap))
    else:
        panels.append(("yours − expected: the pattern", difference, 1.0))
        legends.append(("lower than expected · higher", None))
    panel_width = max(width, 96)
    total_width = max(len(panels) * panel_width + (len(panels) - 1) * _GAP, 150 * len(legends))
    heading = _TITLE * (2 if comparison.call else 1)
    total_height = heading + _CAPTION + height + 8 + _LEGEND * len(legends)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width}" height="{total_height}" '
             f'viewBox="0 0 {total_width} {total_height}" font-family="sans-serif" font-size="11">',
             f'<text x="0" y="12" font-size="12" font-weight="bold">'
             f'{html.escape(_bounded(comparison.title, total_width))}</text>']
    if comparison.call:
        call = html.escape(_bounded(comparison.call, total_width))
        parts.append(f'<text x="0" y="{_TITLE + 12}" fill="#555">on {call}</text>')
    top = heading + _CAPTION
    for number, (caption, values, limit) in enumerate(panels):
        left = number * (panel_width + _GAP)
        parts.append(f'<text x="{left}" y="{heading + 11}">{html.escape(caption)}</text>')
        for index, value in enumerate(values):
            row, column = divmod(index, columns)
            parts.append(f'<rect x="{left + column * side}" y="{top + row * side}" width="{side}" height="{side}" '
                         f'fill="{colour(value, limit)}"/>')
        parts.append(f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#9e9e9e"/>')
    for number, (caption, scale) in enumerate(legends):
        parts += _legend(number * 160, top + height + 8, caption, scale)
    if any(not math.isfinite(value) for _, values, _ in panels for value in values):
        parts.append(f'<text x="{total_width}" y="{total_height - 4}" text-anchor="end" fill="{_NOT_FINITE}">'
                     "grey: NaN or infinite</text>")
    parts.append("</svg>")
    return "".join(parts)


def heatmap_description(comparison: Comparison) -> str:
    """What the picture shows, in words (its alternative text)."""
    if comparison.expected is None:
        return f"{comparison.title}: where your entries are higher (red) or lower (blue) than expected"
    return f"{comparison.title}: expected, yours, and yours minus expected, as colours (red above zero, blue below)"


def _legend(left: int, top: int, caption: str, limit: float | None) -> list[str]:
    steps, step = 11, 12
    parts = [f'<text x="{left}" y="{top + 10}">{html.escape(caption)}</text>']
    for number in range(steps):
        value = -1.0 + 2.0 * number / (steps - 1)
        parts.append(f'<rect x="{left + number * step}" y="{top + 14}" width="{step}" height="8" '
                     f'fill="{colour(value, 1.0)}"/>')
    if limit is not None:
        right = left + steps * step
        parts += [f'<text x="{left}" y="{top + 32}">{_number(-limit)}</text>',
                  f'<text x="{right}" y="{top + 32}" text-anchor="end">{_number(limit)}</text>']
    return parts


def _largest(values: Sequence[float]) -> float:
    return max((abs(value) for value in values if math.isfinite(value)), default=0.0)


def _number(value: float) -> str:
    return f"{value:+.3g}".replace("-", "−")


def _bounded(text: str, width: int) -> str:
    """Cut to what fits in `width` pixels of 12 px text (about 6.5 px a character)."""
    most = max(20, int(width / 6))
    return text if len(text) <= most else text[: most - 1] + "…"
