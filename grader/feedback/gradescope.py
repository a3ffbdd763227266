"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/): one test per exercise.

Each test has the exercise's score, max_score, status, name, Markdown output (its checks and
findings) and visibility; the top-level score is the total.
"""
from __future__ import annotations

import json
from typing import Any

from grader.feedback.blocks import check_line, finding_markdown, points_text
from grader.feedback.registry import renderer
from grader.records import ExerciseResult, SubmissionResult


def exercise_markdown(exercise: ExerciseResult) -> str:
    """An exercise's checks and findings as Markdown (a Gradescope test's output)."""
    lines = [f"- {'✅' if check.passed else '❌'} "
             + check_line(check.name, f"{points_text(check.score)}/{points_text(check.max_score)}", check.message)
             for check in exercise.checks]
    for finding in exercise.findings:
        lines += ["", *finding_markdown(finding, heading="")]
    lines += ["", *(f"*Note:* {note}" for note in exercise.notes)] if exercise.notes else []
    return "\n".join(lines)


def gradescope_results(result: SubmissionResult, visibility: str = "visible") -> dict[str, Any]:
    """Gradescope's results.json for one submission: one test per exercise."""
    tests = []
    for number, exercise in enumerate(result.exercises, start=1):
        tests.append({
            "name": f"{exercise.function}: {exercise.title}" if exercise.title else exercise.function,
            "number": str(number),
            "score": exercise.score,
            "max_score": exercise.max_score,
            "status": "passed" if exercise.status == "passed" else "failed",
            "output": f"**{exercise.status}** — {points_text(exercise.score)}/{points_text(exercise.max_score)}\n\n"
                      + exercise_markdown(exercise),
            "output_format": "md",
            "visibility": visibility,
        })
    total = f"{points_text(result.score)}/{points_text(result.max_score)}"
    summary = [f"{result.assignment_title}: {total} ({result.status})"]
    summary += [f"**{kind}**: {message}" for kind, message in result.errors]
    return {"score": result.score, "output": "\n\n".join(summary), "output_format": "md",
            "visibility": visibility, "stdout_visibility": "hidden", "tests": tests}


@renderer("gradescope", ".gradescope.json", "Gradescope's results.json (results.json with --out and one submission)",
          batch_file="results.json", needs_batch=True)
def render_gradescope(result: SubmissionResult, version: str, colour: bool = False) -> str:
    """Gradescope's results.json for one submission, as text (a per-submission renderer)."""
    return json.dumps(gradescope_results(result), ensure_ascii=False, allow_nan=False, indent=1)
