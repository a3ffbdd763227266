"""Renderers: a SubmissionResult as terminal text, Markdown or JSON. Pure functions, registered by name."""
from __future__ import annotations

import json
from collections.abc import Callable

from grader.diagnose import Finding
from grader.result import ExerciseResult, SubmissionResult, to_json

Renderer = Callable[[SubmissionResult, str, bool], str]
"""(result, grader version, colour) → text."""
RENDERERS: dict[str, Renderer] = {}


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register a renderer for `--format name`; a duplicate fails at import."""

    def register(function: Renderer) -> Renderer:
        if name in RENDERERS:
            raise RuntimeError(f"renderer {name!r} registered twice")
        RENDERERS[name] = function
        return function

    return register


@renderer("json")
def render_json(result: SubmissionResult, version: str, colour: bool = False) -> str:
    """One JSON object on one line (so several results make JSON Lines)."""
    return json.dumps(to_json(result, version), ensure_ascii=False, allow_nan=False)


_STYLES = {"passed": "32", "failed": "31", "error": "31", "missing": "33", "dim": "2", "bold": "1"}


def _paint(text: str, style: str, colour: bool) -> str:
    return f"\033[{_STYLES[style]}m{text}\033[0m" if colour else text


def _points(score: float, max_score: float) -> str:
    return f"{score:g}/{max_score:g}"


@renderer("text")
def render_text(result: SubmissionResult, version: str, colour: bool = False) -> str:
    """Terminal feedback: score first, then per exercise the checks and each finding with the student's line."""
    lines = [
        _paint(f"{result.path}: {_points(result.score, result.max_score)} — {result.status}", result.status, colour)
        + _paint(f"  ({result.assignment_title})", "dim", colour)
    ]
    for kind, message in result.errors:
        lines.append(f"  {kind}: {message}")
    for exercise in result.exercises:
        lines.extend(_exercise_text(exercise, colour))
    return "\n".join(lines)


def _exercise_text(exercise: ExerciseResult, colour: bool) -> list[str]:
    lines = ["", _paint(f"{exercise.function}  {_points(exercise.score, exercise.max_score)}  [{exercise.status}]",
                        "bold", colour)]
    for check in exercise.checks:
        mark = _paint("✓", "passed", colour) if check.passed else _paint("✗", "failed", colour)
        lines.append(f"  {mark} {check.name} ({_points(check.score, check.max_score)}): {check.message}")
    for finding in exercise.findings:
        lines.extend(_finding_text(finding, colour))
    lines.extend(f"  note: {note}" for note in exercise.notes)
    return lines


def _finding_text(finding: Finding, colour: bool) -> list[str]:
    label = f"[{finding.id}] " if finding.id else ""
    lines = ["", "  " + _paint(f"{label}{finding.title}", "bold", colour)]
    if finding.location is not None:
        location = finding.location
        lines.append(_paint(f"    cell {location.cell}, line {location.line}:", "dim", colour))
        lines.append(f"      {location.code}")
    lines.append(f"    What the numbers show: {finding.evidence}")
    lines.append(f"    Why: {finding.explanation}")
    lines.append(f"    Fix: {finding.fix}")
    return lines


@renderer("markdown")
def render_markdown(result: SubmissionResult, version: str, colour: bool = False) -> str:
    """Feedback as a Markdown document (for files, CI summaries and LMS comments)."""
    lines = [f"# {result.assignment_title}: {_points(result.score, result.max_score)}", "",
             f"`{result.path}` — **{result.status}**"]
    for kind, message in result.errors:
        lines += ["", f"> **{kind}**: {message}"]
    for exercise in result.exercises:
        lines += ["", f"## `{exercise.function}` — {_points(exercise.score, exercise.max_score)} ({exercise.status})", "",
                  "| check | points | result |", "|---|---|---|"]
        for check in exercise.checks:
            mark = "✅" if check.passed else "❌"
            message = check.message.replace("|", "\\|")  # a bare | would end the table cell
            lines.append(f"| {mark} {check.name} | {_points(check.score, check.max_score)} | {message} |")
        for finding in exercise.findings:
            label = f" (`{finding.id}`)" if finding.id else ""
            lines += ["", f"### {finding.title}{label}"]
            if finding.location is not None:
                lines += ["", f"Cell {finding.location.cell}, line {finding.location.line}:", "",
                          "```python", finding.location.code, "```"]
            lines += ["", f"**What the numbers show:** {finding.evidence}", "", f"**Why:** {finding.explanation}"]
            if finding.math:
                lines += ["", f"$${finding.math}$$"]
            lines += ["", f"**Fix:** {finding.fix}"]
        for note in exercise.notes:
            lines += ["", f"*Note:* {note}"]
    return "\n".join(lines) + "\n"
