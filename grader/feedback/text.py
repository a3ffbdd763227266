"""Terminal feedback: score first, then per exercise the checks and each finding with the student's line."""
from __future__ import annotations

from grader.feedback.blocks import check_line, finding_text, paint, points
from grader.feedback.registry import renderer
from grader.records import ExerciseResult, SubmissionResult


@renderer("text", ".txt", "terminal feedback (colour only on a terminal)")
def render_text(result: SubmissionResult, version: str, colour: bool = False) -> str:
    """Terminal feedback: score first, then per exercise the checks and each finding with the student's line."""
    lines = [
        paint(f"{result.path}: {points(result.score, result.max_score)} — {result.status}", result.status, colour)
        + paint(f"  ({result.assignment_title})", "dim", colour)
    ]
    for kind, message in result.errors:
        lines.append(f"  {kind}: {message}")
    for exercise in result.exercises:
        lines.extend(_exercise_text(exercise, colour))
    return "\n".join(lines)


def _exercise_text(exercise: ExerciseResult, colour: bool) -> list[str]:
    lines = ["", paint(f"{exercise.function}  {points(exercise.score, exercise.max_score)}  [{exercise.status}]",
                       "bold", colour)]
    for check in exercise.checks:
        mark = paint("✓", "passed", colour) if check.passed else paint("✗", "failed", colour)
        lines.append(f"  {mark} {check_line(check.name, points(check.score, check.max_score), check.message)}")
    for finding in exercise.findings:
        lines += ["", *finding_text(finding, colour)]
    lines.extend(f"  note: {note}" for note in exercise.notes)
    return lines
