"""The annotated notebook (`--format notebook`): the student's own notebook, with the feedback where the code is.

A copy of the graded file: every cell and output is kept, and the student's cells are copied
as the JSON they are (not re-read through nbformat, which would re-split their lines), so an
untouched cell is the same JSON after as before. Inserted: a summary cell at the top (score,
a table of the exercises, their checks) and, right after the cell each finding points at, a
Markdown cell with the finding (the student's line quoted, the math in LaTeX, the fix, and a
heatmap of each wrong array as an attachment). The inserted cells carry `"grader": {"feedback":
true}` in their metadata: grading the copy again reads only code cells, so it gives the same
result, and annotating it again replaces them instead of adding more.

The notebook keeps its nbformat 4 minor version (cells get ids only from 4.5 on, as the schema
says); an nbformat 3 notebook is converted to 4 by nbformat; our cells are validated with
nbformat's schema for that version. A `.py` file becomes a notebook of one code cell, and a
file that is not a notebook at all a notebook holding the summary alone. nbformat is imported
only here, when this format is asked for: `grade one.ipynb` never loads it.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import InternalError, UsageError
from grader.feedback.blocks import check_line, finding_markdown, markdown_cell, place, points
from grader.feedback.heatmap import heatmap_description, heatmap_svg
from grader.feedback.registry import renderer
from grader.records import ExerciseResult, Finding, SubmissionResult

MARKER = "grader"
"""The cell metadata key of the cells the grader inserted: {"grader": {"feedback": true, "kind": ...}}."""
FEEDBACK_TAG = "grader-feedback"
"""Also in their tags (nbconvert gives a tagged cell a class: how the HTML page styles them)."""
ANNOTATED_SUFFIX = ".feedback.ipynb"
"""The annotated copy's file ending (a folder search for submissions skips these)."""
_STATUS_MARK = {"passed": "✓", "failed": "✗", "error": "✗", "missing": "✗"}  # text, not emoji: every font has them


@dataclass(frozen=True, slots=True)
class Annotated:
    """An annotated notebook, and where the findings' lines are in it."""

    document: dict[str, Any]
    """The notebook as JSON data (nbformat 4)."""
    lines: dict[int, tuple[int, ...]]
    """Cell index in `document` → the lines (1-based) findings point at in that cell."""


def is_feedback_cell(cell: object) -> bool:
    """Whether a cell is one the grader inserted (its metadata says so)."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    marker = metadata.get(MARKER) if isinstance(metadata, dict) else None
    return isinstance(marker, dict) and marker.get("feedback") is True


@renderer("notebook", ANNOTATED_SUFFIX, "the student's notebook, with the feedback after each cell it is about")
def render_notebook(result: SubmissionResult, version: str, colour: bool = False) -> str:
    """The annotated notebook as .ipynb text (indented and ordered as Jupyter writes it)."""
    return notebook_text(annotate(result).document)


def notebook_text(document: dict[str, Any]) -> str:
    """JSON as Jupyter writes a notebook: indent 1, keys sorted, characters as they are."""
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON can spell one): only a \u escape holds it
        text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    return text


def annotate(result: SubmissionResult) -> Annotated:
    """The graded notebook with the feedback cells of `result` inserted (read again from `result.path`)."""
    document = _student_notebook(result)
    minor: int = document["nbformat_minor"] if type(document.get("nbformat_minor")) is int else 0
    originals = document["cells"]
    kept = [index for index, cell in enumerate(originals) if not is_feedback_cell(cell)]
    after: dict[int, list[Finding]] = {index: [] for index in kept}
    unplaced: list[tuple[ExerciseResult, Finding]] = []
    for exercise in result.exercises:
        for finding in exercise.findings:
            pointed = finding.location.cell if finding.location is not None else None
            if pointed is not None and pointed in after:
                after[pointed].append(finding)
            else:
                unplaced.append((exercise, finding))
    functions = {id(finding): exercise.function for exercise in result.exercises for finding in exercise.findings}
    inserted: list[dict[str, Any]] = []
    ids = _CellIds(minor, originals)
    summary = _cell(_summary(result, unplaced), "summary", ids)
    inserted.append(summary)
    cells: list[Any] = [summary]
    lines: dict[int, tuple[int, ...]] = {}
    for index in kept:
        cells.append(originals[index])
        here = after[index]
        quoted = sorted({location.line for finding in here for location in _locations(finding)
                         if location.cell == index})
        if quoted:
            lines[len(cells) - 1] = tuple(quoted)
        for finding in here:
            cell = _finding_cell(finding, functions[id(finding)], index, ids)
            inserted.append(cell)
            cells.append(cell)
    _validate(inserted, minor)
    return Annotated({**document, "cells": cells}, lines)


def _locations(finding: Finding) -> list[Any]:
    return [finding.location, *finding.locations] if finding.location is not None else []


# ---- the student's notebook, as JSON -------------------------------------------------------


def _student_notebook(result: SubmissionResult) -> dict[str, Any]:
    """The graded file as nbformat 4 JSON: the notebook itself, converted from 3, or one made for a .py file."""
    try:
        data = Path(result.path).read_bytes() if result.sha256 else b""
    except OSError as error:
        raise UsageError(f"cannot annotate {result.path}: {error.strerror or error} (the annotated notebook is "
                         "made from the graded file, which must still be there)") from None
    if result.sha256 and hashlib.sha256(data).hexdigest() != result.sha256:
        raise UsageError(f"cannot annotate {result.path}: it changed after it was graded; grade it again")
    if any(kind == "unreadable" for kind, _ in result.errors) or not data:
        return _new_notebook([])
    text = data.decode("utf-8-sig")
    if result.path.endswith(".py"):
        return _new_notebook([{"cell_type": "code", "execution_count": None, "id": "graded-file", "metadata": {},
                               "outputs": [], "source": _lines(text)}])
    document = json.loads(text)
    if "worksheets" in document:
        import nbformat  # only when annotating an nbformat 3 notebook

        converted = nbformat.reads(text, as_version=4)
        document = json.loads(nbformat.writes(converted))
    if not isinstance(document.get("cells"), list):
        return _new_notebook([])
    return document


def _new_notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _lines(text: str) -> list[str]:
    """Text as nbformat writes a multi-line string: a list of lines, each with its newline."""
    return text.splitlines(keepends=True)


class _CellIds:
    """Ids for the inserted cells where the notebook's version has them (4.5 on), never one the notebook uses."""

    def __init__(self, minor: int, cells: list[Any]) -> None:
        self.wanted = minor >= 5
        self.taken = {cell.get("id") for cell in cells if isinstance(cell, dict)}

    def next(self, name: str) -> dict[str, str]:
        if not self.wanted:
            return {}
        candidate, number = f"grader-{name}", 1
        while candidate in self.taken:
            number += 1
            candidate = f"grader-{name}-{number}"
        self.taken.add(candidate)
        return {"id": candidate}


def _cell(source: list[str], kind: str, ids: _CellIds, attachments: dict[str, Any] | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": "markdown", **ids.next(kind),
                            "metadata": {MARKER: {"feedback": True, "kind": kind}, "tags": [FEEDBACK_TAG]},
                            "source": _lines("\n".join(source))}
    if attachments:
        cell["attachments"] = attachments
    return cell


def _validate(cells: list[dict[str, Any]], minor: int) -> None:
    """Our cells against nbformat's schema of the notebook's version (the student's cells are theirs, untouched)."""
    import nbformat

    try:
        nbformat.validate({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": min(max(minor, 0), 5)})
    except nbformat.ValidationError as error:
        raise InternalError(f"the feedback cells are not valid nbformat 4.{minor}: {error.message}") from None


# ---- what the inserted cells say -----------------------------------------------------------


def _summary(result: SubmissionResult, unplaced: list[tuple[ExerciseResult, Finding]]) -> list[str]:
    lines = [f"## Feedback from the grader: {points(result.score, result.max_score)} — {result.status}", "",
             f"*{result.assignment_title}* · `{Path(result.path).name}`", ""]
    for kind, message in result.errors:
        lines += [f"> **{kind}**: {message}", ""]
    lines += ["| exercise | points | status |", "|---|---:|---|"]
    for exercise in result.exercises:
        where = sorted({f"code cell {finding.location.code_cell}" if finding.location.code_cell is not None
                        else place(finding.location) for finding in exercise.findings if finding.location is not None})
        shown = f" — feedback below {', '.join(where)}" if where else ""
        lines.append(f"| `{exercise.function}` | {points(exercise.score, exercise.max_score)} | "
                     f"{_STATUS_MARK.get(exercise.status, '')} {exercise.status}{markdown_cell(shown)} |")
    for exercise in result.exercises:
        if exercise.checks:
            lines += ["", f"**`{exercise.function}`**", ""]
            lines += [f"- {'✓' if check.passed else '✗'} "
                      + check_line(check.name, points(check.score, check.max_score), check.message)
                      for check in exercise.checks]
            lines += [f"- *Note:* {note}" for note in exercise.notes]
    for exercise, finding in unplaced:
        lines += ["", f"**`{exercise.function}`**:", "", *finding_markdown(finding, heading="####")]
    lines += ["", "*The grader added the cells marked like this one (their metadata says `grader`); grading this "
              "notebook again leaves them out.*"]
    return lines


def _finding_cell(finding: Finding, function: str, below: int, ids: _CellIds) -> dict[str, Any]:
    lines = [f"**Feedback from the grader** · `{function}`", "",
             *finding_markdown(finding, heading="####", below_cell=below)]
    attachments = {}
    for number, comparison in enumerate(finding.comparisons):
        file = f"{comparison.output}-{number}.svg"
        attachments[file] = {"image/svg+xml": base64.b64encode(heatmap_svg(comparison).encode()).decode("ascii")}
        lines += ["", f"![{heatmap_description(comparison)}](attachment:{file})"]
    return _cell(lines, "finding", ids, attachments)
