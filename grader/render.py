"""Renderers: a SubmissionResult as terminal text, Markdown or JSON. Pure functions, registered by name."""
from __future__ import annotations

import json
from collections.abc import Callable

from grader.diagnose import Finding
from grader.extract import Location
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
        lines += ["", *finding_text(finding, colour)]
    lines.extend(f"  note: {note}" for note in exercise.notes)
    return lines


def place(location: Location) -> str:
    """Where a line is, as a student finds it: "code cell 7 (In [12]), line 29", or "line 21" in a .py file."""
    if location.code_cell is None:
        return f"line {location.line}"
    seen_as = (f"In [{location.execution_count}]" if location.execution_count is not None
               else f"“{location.cell_first_line}”" if location.cell_first_line else "")
    return f"code cell {location.code_cell}{f' ({seen_as})' if seen_as else ''}, line {location.line}"


def _places(finding: Finding) -> list[tuple[str, Location]]:
    """(where, location) for each line a finding quotes; lines after the first in the same cell say "line N"."""
    if finding.location is None:
        return []
    quoted = [(place(finding.location), finding.location)]
    for previous, location in zip((finding.location, *finding.locations), finding.locations):
        same_cell = location.cell == previous.cell and location.code_cell is not None
        quoted.append((f"line {location.line}" if same_cell else place(location), location))
    return quoted


def _label(finding: Finding) -> str:
    """The catalog id(s) of a finding, or "" for a generic one."""
    return " or ".join(identifier for identifier in (finding.id, *finding.alternatives) if identifier)


def _evidence_heading(finding: Finding) -> str:
    return "What the numbers show" if finding.numeric else "What happened"


def finding_text(finding: Finding, colour: bool = False, indent: str = "  ") -> list[str]:
    """A finding as plain-text lines: its title, the student's lines, the evidence, why and the fix."""
    label = f"[{_label(finding)}] " if finding.id else ""
    lines = [indent + _paint(f"{label}{finding.title}", "bold", colour)]
    for where, location in _places(finding):
        lines.append(_paint(f"{indent}  {where}:", "dim", colour))
        lines.append(f"{indent}    {location.code}")
    lines.append(f"{indent}  {_evidence_heading(finding)}: {finding.evidence}")
    if finding.explanation:
        lines.append(f"{indent}  Why: {finding.explanation}")
    lines.append(f"{indent}  Fix: {finding.fix}")
    return lines


def finding_markdown(finding: Finding, heading: str = "###") -> list[str]:
    """A finding as Markdown lines, under a `heading` ("###"), or as a bold line when heading is ""."""
    label = f" (`{_label(finding)}`)" if finding.id else ""
    lines = [f"{heading} {finding.title}{label}" if heading else f"**{finding.title}**{label}"]
    for where, location in _places(finding):
        lines += ["", f"{where[0].upper()}{where[1:]}:", "", "```python", location.code, "```"]
    lines += ["", f"**{_evidence_heading(finding)}:** {finding.evidence}"]
    if finding.explanation:
        lines += ["", f"**Why:** {finding.explanation}"]
    if finding.math:
        lines += ["", f"$${finding.math}$$"]
    return lines + ["", f"**Fix:** {finding.fix}"]


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
            lines += ["", *finding_markdown(finding)]
        for note in exercise.notes:
            lines += ["", f"*Note:* {note}"]
    return "\n".join(lines) + "\n"
