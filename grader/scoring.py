"""Score: points and statuses from the checks, and the --min-score threshold. Pure functions of records.

The rule: each check's points come from the spec and are earned in proportion to what it
found right (grader.checks); an exercise's score is the sum of its checks', a submission's the
sum of its exercises'. A function that never returned a usable value is an "error" and earns
nothing, including for checks it could not fail.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from grader.assignment.model import Exercise
from grader.errors import UsageError
from grader.records import CheckResult, ExerciseResult, ExerciseStatus, Finding, SubmissionStatus, Trial

NO_GRADED_FUNCTION = "no-graded-function"
"""Error kind of a submission that defines none of the assignment's functions (another assignment's?)."""
GRADER_FAILURE = "grader-failure"
"""Error kind (and status in class reports) of a submission the grader itself failed on: score 0, graded again
by --resume."""


def exercise_score(checks: Sequence[CheckResult]) -> float:
    """The points an exercise earned: its checks' sum."""
    return round(sum(check.score for check in checks), 2)


def exercise_status(checks: Sequence[CheckResult], trials: Sequence[Trial]) -> ExerciseStatus:
    """passed when every check passed; else failed, or error when no call returned a usable value."""
    if all(check.passed for check in checks):
        return "passed"
    return "failed" if any(trial.returned for trial in trials) else "error"


def not_run(exercise: Exercise, status: ExerciseStatus, reason: str, findings: tuple[Finding, ...]) -> ExerciseResult:
    """The result of an exercise whose function could not run: every check failed, not checked, 0 points."""
    checks = tuple(CheckResult(spec.title, False, 0.0, spec.points, f"not checked: {reason}")
                   for spec in exercise.checks)
    return ExerciseResult(exercise.function, exercise.title, 0.0, exercise.points, status, checks, findings)


def submission_grade(exercises: Sequence[ExerciseResult], any_defined: bool) -> tuple[float, SubmissionStatus]:
    """A submission's score and status: error when it defines none of the graded functions."""
    score = round(sum(exercise.score for exercise in exercises), 2)
    if not any_defined:
        return score, "error"
    return score, "passed" if all(exercise.status == "passed" for exercise in exercises) else "failed"


def min_score_test(min_score: str | None, max_score: float | None = None) -> Callable[[float, float], bool]:
    """`--min-score X` or `X%` → a test (score, max) → below?

    Raises:
        UsageError: X is not a number, is below 0, above 100%, or above `max_score` (when it is known): a
            threshold no submission could miss or none could reach is a mistake on the command line.
    """
    if min_score is None:
        return lambda score, maximum: False
    try:
        value = float(min_score[:-1] if min_score.endswith("%") else min_score)
    except ValueError:
        raise UsageError(f"--min-score must be a number or a percentage, not {min_score!r}") from None
    if not 0 <= value <= (100 if min_score.endswith("%") else math.inf):  # NaN too
        raise UsageError(f"--min-score must be between 0 and {'100%' if min_score.endswith('%') else 'the maximum'}, "
                         f"not {min_score}")
    if max_score is not None and not min_score.endswith("%") and value > max_score + 1e-9:
        raise UsageError(f"--min-score {min_score} is above the maximum score ({max_score:g}): no submission could "
                         "reach it")
    if min_score.endswith("%"):
        return lambda score, maximum: score < value / 100 * maximum - 1e-9
    return lambda score, maximum: score < value - 1e-9
