"""Catalogue-free descriptions of wrong outputs: which calls, what shape, what pattern, how far off.

Pure functions of the trials, used when no catalogued mistake explains an output.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grader.assignment.model import Exercise
from grader.checks.outputs import all_close, close
from grader.records import Trial

Pair = tuple[Trial, str, "np.ndarray | None", np.ndarray, bool]
"""(trial, what was run, got, expected, whether it is the baseline call)."""


def pairs(trials: Sequence[Trial], name: str) -> list[Pair]:
    """(trial, call, got, expected, is_baseline) for output `name` on every call of every trial."""
    found: list[Pair] = []
    for trial in trials:
        if trial.got is not None:
            found.append((trial, trial.label, trial.got.values.get(name), trial.expected[name], False))
        if trial.baseline_expected is not None and trial.baseline_got is not None:
            found.append((trial, trial.baseline_label, trial.baseline_got.values.get(name),
                          trial.baseline_expected[name], True))
    return found


def output_names(trials: Sequence[Trial]) -> list[str]:
    return list(trials[0].expected) if trials else []


def is_wrong(exercise: Exercise, trials: Sequence[Trial], name: str) -> bool:
    """Whether output `name` differs from the reference on some call."""
    return not all_close(((got, expected) for _, _, got, expected, _ in pairs(trials, name)), exercise.tolerance)


def wrong_at_baseline(exercise: Exercise, trials: Sequence[Trial], name: str) -> bool:
    """Whether output `name` is wrong already with the baseline arguments (e.g. λ = 0)."""
    for trial in trials:
        got, expected = ((trial.baseline_got, trial.baseline_expected) if trial.baseline_expected is not None
                         else (trial.got, trial.expected))
        value = got.values.get(name) if got is not None and not got.problem else None
        if value is None or not close(value, expected[name], exercise.tolerance):
            return True
    return False


def turns_non_finite(trials: Sequence[Trial], name: str) -> bool:
    """Whether output `name` holds NaN or infinities on a call where the reference's is finite."""
    return any(
        got is not None and not np.all(np.isfinite(got)) and np.all(np.isfinite(expected))
        for _, _, got, expected, _ in pairs(trials, name)
    )


def describe_difference(exercise: Exercise, trials: Sequence[Trial], name: str) -> str:
    """A precise, catalog-free account of how an output differs: where, by how much, in what pattern."""
    found = pairs(trials, name)
    wrong = [(trial, call, got, expected, base) for trial, call, got, expected, base in found
             if got is None or not close(got, expected, exercise.tolerance)]
    baseline = " and ".join(f"{key} = {value:g}" if isinstance(value, (int, float)) else f"{key} = {value!r}"
                            for key, value in exercise.baseline.items())
    probes = {id(trial) for trial, *_ in wrong}
    sentences = [f"{name} is wrong on {len(probes)} of {len(trials)} probes"]
    if baseline and any(base for *_, base in found):
        right_at_baseline = not any(base for *_, base in wrong)
        sentences[0] += (f", but right when {baseline}: the part that depends on it is wrong" if right_at_baseline
                         else f", even when {baseline}: the part that does not depend on it is wrong")
    _, call, got, expected, _ = wrong[0]
    if got is None:
        sentences.append("it is missing")
    elif got.shape != expected.shape:
        transposed = " (the transpose of the right shape)" if got.shape == expected.shape[::-1] else ""
        sentences.append(f"it has shape {got.shape} instead of {expected.shape}{transposed} on '{call}'")
    else:
        sentences.append(_pattern(got, expected, exercise) + f" on '{call}'")
        largest = max((float(np.max(np.abs(g - e))), c)
                      for _, c, g, e, _ in wrong if g is not None and g.shape == e.shape)
        sentences.append(f"largest difference {largest[0]:.3g} (on '{largest[1]}')")
    return "; ".join(sentences) + "."


def _pattern(got: np.ndarray, expected: np.ndarray, exercise: Exercise) -> str:
    difference = got - expected
    tolerance = exercise.tolerance
    scale = tolerance.atol + tolerance.rtol * float(np.max(np.abs(expected), initial=0.0))
    if difference.size > 1 and float(np.ptp(difference)) <= scale:
        return f"every entry is off by the same constant ({float(difference.flat[0]):+.4g})"
    nonzero = np.abs(expected) > scale
    if np.any(nonzero):
        ratios = got[nonzero] / expected[nonzero]
        constant = float(np.ptp(ratios)) <= 1e-6 * max(1.0, abs(float(ratios[0])))
        if constant and np.allclose(got[~nonzero], 0, atol=scale):
            return f"it is {float(ratios[0]):.4g} times the correct value"
    if got.ndim == 2 and got.shape[0] == got.shape[1] and close(got.T, expected, tolerance):
        return "it is the transpose of the correct value"
    bad = int(np.sum(~np.isclose(got, expected, rtol=tolerance.rtol, atol=tolerance.atol)))
    return f"{bad} of {got.size} entries differ, by no common offset or factor"
