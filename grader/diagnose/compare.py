"""The arrays behind a finding: for each wrong array output, its expected and returned values on one call.

Computed here, where the trials are, so the pictures of the notebook and HTML feedback need
nothing but the result (they are drawn by grader.feedback.heatmap). A finding keeps at most a
few outputs, each on the first call where it is wrong, cut to a small top-left block: the
pattern of a mistake shows on a few rows, and the result stays small in a batch of thousands.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

import numpy as np

from grader.assignment.model import Exercise
from grader.checks.outputs import close
from grader.records import Comparison, Finding, Outputs, Trial

MAX_SIDE = 24
"""Rows and columns kept of an output (a probe's arrays are smaller: the cut is for other assignments)."""
MAX_OUTPUTS = 3
"""Outputs pictured per finding: the first ones it names (those after are usually its consequences)."""
_DIGITS = 6  # significant digits kept: a picture shows three


def with_comparisons(exercise: Exercise, findings: Sequence[Finding], trials: Sequence[Trial]) -> tuple[Finding, ...]:
    """The findings, each numeric one with the comparisons of the wrong array outputs it names."""
    return tuple(replace(finding, comparisons=pictured) if (pictured := comparisons(exercise, finding, trials))
                 else finding for finding in findings)


def comparisons(exercise: Exercise, finding: Finding, trials: Sequence[Trial]) -> tuple[Comparison, ...]:
    """For each array output the finding names (up to MAX_OUTPUTS), the first call where it is wrong."""
    if not finding.numeric:
        return ()
    found: list[Comparison] = []
    for output in finding.outputs:
        comparison = next(_wrong_calls(exercise, output, trials), None)
        if comparison is not None:
            found.append(comparison)
            if len(found) == MAX_OUTPUTS:
                break
    return tuple(found)


def _wrong_calls(exercise: Exercise, output: str, trials: Sequence[Trial]) -> Iterator[Comparison]:
    """Comparisons of `output` on every call where it has the right shape and wrong values: the probes' own calls
    first, then those with the baseline arguments.

    Where the output is right with the baseline arguments (λ = 0), the mistake is in what the other
    arguments add, so that part is compared: a term that is the same number in every entry shows as one.
    """
    for trial in trials:
        mine, theirs = _pair(trial.got, trial.expected, output)
        if mine is None or theirs is None or _close(mine, theirs, exercise):
            continue
        base_mine, base_theirs = _pair(trial.baseline_got, trial.baseline_expected, output)
        if base_mine is not None and base_theirs is not None and _close(base_mine, base_theirs, exercise):
            names = ", ".join(exercise.baseline)
            yield _comparison(output, f"what {names} adds to {output}", trial.label, mine - base_mine,
                              theirs - base_theirs)
        else:
            yield _comparison(output, output, trial.label, mine, theirs)
    for trial in trials:
        mine, theirs = _pair(trial.baseline_got, trial.baseline_expected, output)
        if mine is not None and theirs is not None and not _close(mine, theirs, exercise):
            yield _comparison(output, output, trial.baseline_label, mine, theirs)


def _pair(got: Outputs | None, expected: Mapping[str, np.ndarray] | None,
          output: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The output as returned and as expected, when both are arrays of the same shape worth a picture."""
    if got is None or got.problem is not None or expected is None:
        return None, None
    mine, theirs = got.values.get(output), expected.get(output)
    if mine is None or theirs is None or mine.shape != theirs.shape or theirs.ndim not in (1, 2) or theirs.size < 2:
        return None, None
    return mine, theirs


def _close(got: np.ndarray, expected: np.ndarray, exercise: Exercise) -> bool:
    with np.errstate(all="ignore"):
        return close(got, expected, exercise.tolerance)


def _comparison(output: str, title: str, label: str, got: np.ndarray, expected: np.ndarray) -> Comparison:
    whole = expected.shape
    block = (slice(0, MAX_SIDE),) * expected.ndim
    kept_expected = np.atleast_2d(expected[block]).astype(float)
    kept_got = np.atleast_2d(got[block]).astype(float)
    rows, columns = kept_expected.shape
    expected_entries, got_entries = _entries(kept_expected), _entries(kept_got)
    # From the rounded entries, as a result read back from its JSON computes it: the same pictures either way.
    difference = tuple(mine - theirs for mine, theirs in zip(got_entries, expected_entries))
    return Comparison(output, title, label, (rows, columns), tuple(whole), expected_entries, got_entries, difference)


def _entries(values: np.ndarray) -> tuple[float, ...]:
    """Row by row, rounded to a few significant digits; NaN stands for every non-finite entry."""
    return tuple(float(f"{value:.{_DIGITS}g}") if np.isfinite(value) else float("nan") for value in values.ravel())
