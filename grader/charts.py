"""Inline SVG charts for summary.html: pure functions of labels and numbers (no scripts, nothing fetched)."""
from __future__ import annotations

import html
from collections.abc import Sequence

STATUSES = ("passed", "failed", "error", "missing")
COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "error": "#6d4c41", "missing": "#f9a825", "bar": "#1565c0"}
_LABEL_CHARS = 105  # what fits in 760 px of 12 px text


def column_chart(bins: Sequence[tuple[str, int]]) -> str:
    """Vertical bars with a count above each and the label below."""
    width, height, bar, gap, bottom = 640, 220, 48, 10, 40
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
        pieces.append(f'<text x="{x + bar / 2}" y="{height - bottom + 16}" text-anchor="middle">{short}</text>')
    pieces.append(f'<text x="10" y="{height - 6}">points (bins of a tenth of the maximum; green: full marks)</text>')
    pieces.append("</svg>")
    return "".join(pieces)


def bar_chart(items: Sequence[tuple[str, float, str]], colour: str) -> str:
    """Horizontal bars, each under its label: (label, length 0–1, value text) per item."""
    width, bar_width, row = 760, 600, 38
    height = row * len(items) + 4
    pieces = [f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
              'xmlns="http://www.w3.org/2000/svg">']
    for position, (label, fraction, value) in enumerate(items):
        y = 2 + position * row
        shown = label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"
        length = bar_width * max(0.0, min(fraction, 1.0))
        pieces.append(f'<text x="0" y="{y + 13}"><title>{html.escape(label)}</title>{html.escape(shown)}</text>')
        pieces.append(f'<rect x="0" y="{y + 18}" width="{bar_width}" height="12" fill="#eee"/>')
        pieces.append(f'<rect x="0" y="{y + 18}" width="{length:.1f}" height="12" fill="{colour}"/>')
        pieces.append(f'<text x="{bar_width + 8}" y="{y + 29}">{html.escape(value)}</text>')
    pieces.append("</svg>")
    return "".join(pieces)


def stacked_bars(items: Sequence[tuple[str, dict[str, int]]]) -> str:
    """One horizontal bar per exercise, under its name, split by status."""
    width, bar_width, row = 760, 600, 38
    height = row * len(items) + 4
    pieces = [f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
              'xmlns="http://www.w3.org/2000/svg">']
    for position, (function, counts) in enumerate(items):
        y = 2 + position * row
        total = sum(counts.values()) or 1
        pieces.append(f'<text x="0" y="{y + 13}">{html.escape(function)}</text>')
        pieces.append(f'<rect x="0" y="{y + 18}" width="{bar_width}" height="12" fill="#eee"/>')
        x = 0.0
        for status in STATUSES:
            count = counts.get(status, 0)
            if count:
                segment = bar_width * count / total
                pieces.append(f'<rect x="{x:.1f}" y="{y + 18}" width="{segment:.1f}" height="12" '
                              f'fill="{COLOURS[status]}"><title>{status}: {count}</title></rect>')
                x += segment
        passed = counts.get("passed", 0)
        pieces.append(f'<text x="{bar_width + 8}" y="{y + 29}">{passed}/{sum(counts.values())} passed</text>')
    pieces.append("</svg>")
    return "".join(pieces)
