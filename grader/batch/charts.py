"""Inline SVG charts for summary.html: pure functions of labels and numbers (no scripts, nothing fetched)."""
from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

STATUSES = ("passed", "failed", "error", "missing")
COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "error": "#6d4c41", "missing": "#f9a825", "bar": "#1565c0",
           "not run": "#9e9e9e", "mistake": "#c62828"}
_LABEL_CHARS = 105  # what fits in 760 px of 12 px text
_LABEL_LINES = 3


def column_chart(bins: Sequence[tuple[str, int]]) -> str:
    """Vertical bars with a count above each and the label below."""
    width, height, bar, gap, bottom = 640, 236, 48, 10, 56
    top_count = max((count for _, count in bins), default=0) or 1
    scale = (height - bottom - 20) / top_count
    pieces = [f'<svg role="img" aria-label="score distribution" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for position, (label, count) in enumerate(bins):
        x = 10 + position * (bar + gap)
        bar_height = count * scale
        y = height - bottom - bar_height
        colour = COLOURS["passed"] if position == len(bins) - 1 else COLOURS["bar"]
        pieces.append(f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{bar_height:.1f}" fill="{colour}">'
                      f"<title>{html.escape(label)}: {count}</title></rect>")
        pieces.append(f'<text x="{x + bar / 2}" y="{y - 4:.1f}" text-anchor="middle">{count}</text>')
        short = html.escape(label.replace(" (full marks)", " ✓"))
        # Every other label one line lower: "[11.2, 12.8)" is wider than its bar.
        label_y = height - bottom + 16 + 15 * (position % 2)
        pieces.append(f'<text x="{x + bar / 2}" y="{label_y}" text-anchor="middle">{short}</text>')
    pieces.append(f'<text x="10" y="{height - 6}">points (bins of a tenth of the maximum; green: full marks)</text>')
    pieces.append("</svg>")
    return "".join(pieces)


@dataclass(frozen=True, slots=True)
class Bar:
    """One horizontal bar: its label above it, its parts left to right, a value after it."""

    label: str
    parts: tuple[tuple[str, int], ...]
    """(name, count) drawn in COLOURS[name], each as long as its share of `whole`."""
    whole: int
    """What a full-width bar stands for (the class): bars are comparable across the chart and the page."""
    value: str


def bar_chart(bars: Sequence[Bar]) -> str:
    """Horizontal bars, each under its label (wrapped over a few lines when long, never cut short silently)."""
    width, bar_width, row, line = 760, 600, 38, 15
    labels = [_wrapped(bar.label) for bar in bars]
    height = sum(row + line * (len(lines) - 1) for lines in labels) + 4
    pieces = [f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
              'xmlns="http://www.w3.org/2000/svg">']
    y = 2
    for bar, lines in zip(bars, labels):
        spans = "".join(f'<tspan x="0" dy="{line if number else 0}">{html.escape(text)}</tspan>'
                        for number, text in enumerate(lines))
        pieces.append(f'<text x="0" y="{y + 13}"><title>{html.escape(bar.label)}</title>{spans}</text>')
        y += line * (len(lines) - 1)
        pieces.append(f'<rect x="0" y="{y + 18}" width="{bar_width}" height="12" fill="#eee"/>')
        x = 0.0
        for name, count in bar.parts:
            if count and bar.whole:
                segment = bar_width * min(count / bar.whole, 1.0)
                pieces.append(f'<rect x="{x:.1f}" y="{y + 18}" width="{segment:.1f}" height="12" '
                              f'fill="{COLOURS[name]}"><title>{html.escape(name)}: {count}</title></rect>')
                x += segment
        pieces.append(f'<text x="{bar_width + 8}" y="{y + 29}">{html.escape(bar.value)}</text>')
        y += row
    pieces.append("</svg>")
    return "".join(pieces)


def _wrapped(label: str) -> list[str]:
    lines = textwrap.wrap(label, _LABEL_CHARS, break_on_hyphens=False) or [""]
    if len(lines) > _LABEL_LINES:  # the whole label stays in the tooltip
        lines = lines[:_LABEL_LINES]
        lines[-1] = lines[-1][: _LABEL_CHARS - 1] + "…"
    return lines
