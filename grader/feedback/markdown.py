"""Feedback as a Markdown document (for files, CI summaries and LMS comments)."""
from __future__ import annotations

from grader.feedback.blocks import finding_markdown, points
from grader.feedback.registry import renderer
from grader.records import SubmissionResult


@renderer("markdown", ".md", "feedback as a Markdown document")
def render_markdown(result: SubmissionResult, version: str, colour: bool = False) -> str:
    """Feedback as a Markdown document (for files, CI summaries and LMS comments)."""
    lines = [f"# {result.assignment_title}: {points(result.score, result.max_score)}", "",
             f"`{result.path}` — **{result.status}**"]
    for kind, message in result.errors:
        lines += ["", f"> **{kind}**: {message}"]
    for exercise in result.exercises:
        heading = f"## `{exercise.function}` — {points(exercise.score, exercise.max_score)} ({exercise.status})"
        lines += ["", heading]
        if exercise.checks:  # none in a --feedback score view
            lines += ["", "| check | points | result |", "|---|---|---|"]
        for check in exercise.checks:
            mark = "✅" if check.passed else "❌"
            message = check.message.replace("|", "\\|")  # a bare | would end the table cell
            lines.append(f"| {mark} {check.name} | {points(check.score, check.max_score)} | {message} |")
        for finding in exercise.findings:
            lines += ["", *finding_markdown(finding)]
        for note in exercise.notes:
            lines += ["", f"*Note:* {note}"]
    return "\n".join(lines) + "\n"
