"""What students may see (`--feedback full|hints|score`): a view of the result, rendered by every student format.

- full: everything, as the instructor sees it.
- hints: each finding's title, the student's lines, the explanation, the math and the fix; not
  the evidence (the numbers the probes gave, or the message the code raised on them), not the
  checks' messages (they name the probes), and of the pictures only the pattern of the
  difference, without its size: nothing that shows a probe's inputs or the reference's values.
- score: the points of each exercise, nothing else.

The views are made here, once, so that no renderer has to know the levels, and the result JSON
(the record the batch files and --resume read) is never one of them.
"""
from __future__ import annotations

import math
from dataclasses import replace

from grader.records import Comparison, ExerciseResult, Finding, SubmissionResult

FEEDBACK_LEVELS = ("full", "hints", "score")
DEFAULT_LEVEL = "full"


def for_audience(result: SubmissionResult, level: str) -> SubmissionResult:
    """The result as students at `level` may see it (the result itself for "full")."""
    if level == "full":
        return result
    if level == "score":
        return replace(result, exercises=tuple(replace(exercise, checks=(), findings=(), notes=())
                                               for exercise in result.exercises))
    if level == "hints":
        return replace(result, exercises=tuple(_hints(exercise) for exercise in result.exercises))
    raise ValueError(f"unknown feedback level {level!r} (one of {', '.join(FEEDBACK_LEVELS)})")


def _hints(exercise: ExerciseResult) -> ExerciseResult:
    return replace(exercise, checks=tuple(replace(check, message="") for check in exercise.checks),
                   findings=tuple(_hint(finding) for finding in exercise.findings))


def _hint(finding: Finding) -> Finding:
    return replace(finding, evidence="", comparisons=tuple(_pattern(comparison) for comparison in finding.comparisons))


def _pattern(comparison: Comparison) -> Comparison:
    """Only where the student's entries are higher or lower than expected, and by how much relative to each other."""
    largest = max((abs(value) for value in comparison.difference if math.isfinite(value)), default=0.0)

    def scaled(value: float) -> float:
        if not math.isfinite(value):
            return math.nan
        return round(value / largest, 2) if largest else 0.0

    return replace(comparison, call="", expected=None, got=None,
                   difference=tuple(scaled(value) for value in comparison.difference))
