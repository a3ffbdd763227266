"""Numeric fits detectors use: proportionality, entries all zero, power laws in a size.

Pure functions on arrays. "Exact" means to rounding: the grader recognises a mistake only
when it reproduces the student's numbers, not when it roughly resembles them.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RELATIVE = 1e-6
ABSOLUTE = 1e-9


def is_zero(value: np.ndarray, scale: float) -> bool:
    """Whether every entry is zero to rounding, next to numbers of size `scale`."""
    return bool((abs(value) <= ABSOLUTE + RELATIVE * scale).all())


def factor(actual: np.ndarray, feature: np.ndarray) -> float | None:
    """k with actual = k·feature exactly (least squares, then checked entry by entry); None otherwise."""
    if actual.shape != feature.shape:
        return None
    norm = float(np.vdot(feature, feature))
    if norm == 0.0:
        return None
    k = float(np.vdot(feature, actual)) / norm
    scaled = k * feature
    scale = float(abs(actual).max(initial=0.0)) + float(abs(scaled).max(initial=0.0))
    return k if is_zero(actual - scaled, scale) else None


def same(values: Sequence[float]) -> bool:
    """Whether all values are equal to rounding."""
    first = values[0]
    return all(abs(value - first) <= ABSOLUTE + RELATIVE * max(abs(value), abs(first)) for value in values)


POWERS = (0, 1, -1, 2, -2)


def power_law(ratios: Sequence[float], sizes: Sequence[float]) -> tuple[float, int] | None:
    """(k, p) with ratio = k·size^p on every probe, trying the simplest p first; None if none fits.

    `sizes` is a size each probe has (a batch's number of examples, say). With p = 0 the ratio
    is one constant (a factor ½ or 2); p = 1 means "size times too big", p = −1 "divided by it
    once too often". A single size cannot tell a power of it from a constant.
    """
    if not ratios or not all(np.isfinite(ratios)):
        return None
    for power in POWERS:
        scaled = [ratio / float(size) ** power for ratio, size in zip(ratios, sizes)]
        if same(scaled):
            if power != 0 and len(set(sizes)) < 2:
                continue
            return scaled[0], power
    return None


def describe_factor(k: float, power: int, symbol: str = "n") -> str:
    """A readable factor k·symbol^power: "2", "½", "n", "n²", "1/n", "0.7·n"."""
    names = {0: "", 1: symbol, -1: f"1/{symbol}", 2: f"{symbol}²", -2: f"1/{symbol}²"}
    constant = _nice(k)
    if power == 0:
        return constant
    if constant == "1":
        return names[power]
    return f"{constant}·{names[power]}"


def _nice(value: float) -> str:
    for fraction, text in ((0.5, "½"), (0.25, "¼"), (1 / 3, "⅓")):
        if abs(value - fraction) < 1e-9:
            return text
        if abs(value + fraction) < 1e-9:
            return "−" + text
    return f"{value:.4g}"
