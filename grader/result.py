"""Graded results: the records every renderer reads, and their JSON form (DESIGN.md §3.2)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.checks import CheckResult
from grader.diagnose import Finding

SCHEMA = "grader.result/1"


@dataclass(frozen=True, slots=True)
class ExerciseResult:
    """The grade of one graded function."""

    function: str
    title: str
    score: float
    max_score: float
    status: str
    """"passed" (full marks), "failed", "error" (could not run) or "missing" (not defined)."""
    checks: tuple[CheckResult, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    """Things worth telling that cost nothing (a function defined twice, a (1, 1) cost)."""


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """The grade of one submission."""

    path: str
    sha256: str
    assignment: str
    assignment_title: str
    score: float
    max_score: float
    status: str
    """"passed", "failed", or "error" when the submission could not be read at all."""
    exercises: tuple[ExerciseResult, ...]
    errors: tuple[tuple[str, str], ...] = ()
    """(kind, message) for problems with the submission as a whole."""


def to_json(result: SubmissionResult, grader_version: str) -> dict[str, Any]:
    """The result as the JSON contract's plain data."""
    return {
        "schema": SCHEMA,
        "grader_version": grader_version,
        "submission": {"path": result.path, "sha256": result.sha256},
        "assignment": {"name": result.assignment, "title": result.assignment_title},
        "score": result.score,
        "max_score": result.max_score,
        "status": result.status,
        "exercises": [_exercise_json(exercise) for exercise in result.exercises],
        "errors": [{"kind": kind, "message": message} for kind, message in result.errors],
    }


def _exercise_json(exercise: ExerciseResult) -> dict[str, Any]:
    return {
        "function": exercise.function,
        "title": exercise.title,
        "score": exercise.score,
        "max_score": exercise.max_score,
        "status": exercise.status,
        "checks": [
            {"name": check.name, "passed": check.passed, "score": check.score, "max_score": check.max_score,
             "message": check.message}
            for check in exercise.checks
        ],
        "findings": [
            {
                "id": finding.id,
                "title": finding.title,
                "outputs": list(finding.outputs),
                "location": None if finding.location is None else {
                    "cell": finding.location.cell, "line": finding.location.line, "code": finding.location.code,
                },
                "evidence": finding.evidence,
                "explanation": finding.explanation,
                "fix": finding.fix,
            }
            for finding in exercise.findings
        ],
        "notes": list(exercise.notes),
    }
