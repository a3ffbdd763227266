"""Detectors for this assignment's catalog mistakes, recognised from the numbers alone.

Each works on the term the student adds for λ: their output minus their own output with
lambd = 0 on the same inputs. That isolates the penalty from the rest of backpropagation,
so a penalty mistake is recognised even when the backprop part is also wrong.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grader.checks import Trial
from grader.detect import Detection, detects
from grader.spec import Exercise

_WEIGHT_IN_CACHE = {"dW1": ("W1", 2), "dW2": ("W2", 6), "dW3": ("W3", 10)}  # cache = (Z1, A1, W1, b1, Z2, ...)


def _added_terms(trials: Sequence[Trial], output: str):
    """(probe name, term the student adds for λ, W, λ/m) on every probe with λ ≠ 0; None if one is unusable."""
    weight_name, index = _WEIGHT_IN_CACHE[output]
    terms = []
    for trial in trials:
        X, _, cache, lambd = trial.probe.arguments
        if lambd == 0:
            continue
        if trial.got is None or trial.baseline_got is None or output not in trial.got.values \
                or output not in trial.baseline_got.values:
            return None
        term = trial.got.values[output] - trial.baseline_got.values[output]
        weight = cache[index]
        if term.shape != weight.shape:
            return None
        terms.append((trial.probe.name, term, weight, lambd / X.shape[1]))
    return terms or None


def _constant(matrix: np.ndarray) -> float | None:
    """The value of every entry, when all entries are equal (to rounding)."""
    spread = float(np.ptp(matrix))
    return float(matrix.mean()) if spread <= 1e-9 + 1e-7 * float(np.max(np.abs(matrix))) else None


_SUMMARIES = ((np.sum, "Σ{w}"), (np.linalg.norm, "‖{w}‖"))
"""Ways students collapse W into one number: its sum, or its (Frobenius) norm."""


def _collapsed_term(terms) -> tuple[str, bool, float] | None:
    """How the added term is a constant c·(λ/m)·summary(W) on every probe: (summary, on top of (λ/m)·W, c)."""
    for summary, label in _SUMMARIES:
        # The constant replaces (λ/m)·W, or is added on top of it: both collapse the penalty to a number.
        for keeps_matrix in (False, True):
            ratios = []
            for _, term, weight, scale in terms:
                constant = _constant(term - scale * weight if keeps_matrix else term)
                expected = scale * float(summary(weight))
                ratios.append(constant / expected if constant is not None and expected != 0 else np.nan)
            if np.all(np.isfinite(ratios)) and abs(ratios[0]) > 1e-12 and np.allclose(ratios, ratios[0], rtol=1e-6):
                return label, keeps_matrix, float(ratios[0])
    return None


@detects("grad.l2-sum-of-weights")
def sum_of_weights(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dW_l gets a constant (λ/m)·ΣW_l (or a norm of W_l) in every entry instead of the matrix (λ/m)·W_l."""
    detections = []
    for output, (weight_name, _) in _WEIGHT_IN_CACHE.items():
        terms = _added_terms(trials, output)
        match = _collapsed_term(terms) if terms else None
        if match is None:
            continue
        label, keeps_matrix, ratio = match
        factor = "" if np.isclose(ratio, 1.0) else f"{ratio:.4g}·"
        probe, term, weight, scale = terms[0]
        constant = _constant(term - scale * weight if keeps_matrix else term)
        evidence = (
            f"on all {len(terms)} probes with λ ≠ 0, what your {output} adds for λ is the same number in every entry"
            f" — exactly {factor}(λ/m)·{label.format(w=weight_name)}" + (" on top of (λ/m)·W" if keeps_matrix else "")
            + f": e.g. {constant:+.4g} on '{probe}', where the entries of (λ/m)·{weight_name} range from "
            f"{float(np.min(scale * weight)):+.4g} to {float(np.max(scale * weight)):+.4g}"
        )
        detections.append(Detection((output,), evidence, {"output": output, "weight": weight_name}))
    return detections
