"""Pieces every renderer shares: where a line is, a finding's block (text or Markdown), points and paint."""
from __future__ import annotations

from grader.records import Finding, Location

_STYLES = {"passed": "32", "failed": "31", "error": "31", "missing": "33", "dim": "2", "bold": "1"}


def paint(text: str, style: str, colour: bool) -> str:
    """Text in a terminal colour (or as it is)."""
    return f"\033[{_STYLES[style]}m{text}\033[0m" if colour else text


def points(score: float, max_score: float) -> str:
    """"6.42/7"."""
    return f"{score:g}/{max_score:g}"


def points_text(value: float) -> str:
    """A score as people write it: 7, 9.42, 0.5 (at most two decimals)."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def markdown_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


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


def finding_label(finding: Finding) -> str:
    """The catalog id(s) of a finding, or "" for a generic one."""
    return " or ".join(identifier for identifier in (finding.id, *finding.alternatives) if identifier)


def _evidence_heading(finding: Finding) -> str:
    return "What the numbers show" if finding.numeric else "What happened"


def finding_text(finding: Finding, colour: bool = False, indent: str = "  ") -> list[str]:
    """A finding as plain-text lines: its title, the student's lines, the evidence, why and the fix."""
    label = f"[{finding_label(finding)}] " if finding.id else ""
    lines = [indent + paint(f"{label}{finding.title}", "bold", colour)]
    for where, location in _places(finding):
        lines.append(paint(f"{indent}  {where}:", "dim", colour))
        lines.append(f"{indent}    {location.code}")
    if finding.evidence:  # none in a --feedback hints view
        lines.append(f"{indent}  {_evidence_heading(finding)}: {finding.evidence}")
    if finding.explanation:
        lines.append(f"{indent}  Why: {finding.explanation}")
    lines.append(f"{indent}  Fix: {finding.fix}")
    return lines


def finding_markdown(finding: Finding, heading: str = "###", below_cell: int | None = None) -> list[str]:
    """A finding as Markdown lines, under a `heading` ("###"), or as a bold line when heading is "".

    Args:
        below_cell: The index of the cell the block is written under (in an annotated notebook): lines of that cell
            are "line 29 of the cell above".
    """
    label = f" (`{finding_label(finding)}`)" if finding.id else ""
    lines = [f"{heading} {finding.title}{label}" if heading else f"**{finding.title}**{label}"]
    for where, location in _places(finding):
        if below_cell is not None and location.cell == below_cell:
            where = f"line {location.line} of the cell above"
        lines += ["", f"{where[0].upper()}{where[1:]}:", "", "```python", location.code, "```"]
    if finding.evidence:  # none in a --feedback hints view
        lines += ["", f"**{_evidence_heading(finding)}:** {finding.evidence}"]
    if finding.explanation:
        lines += ["", f"**Why:** {finding.explanation}"]
    if finding.math:
        lines += ["", f"$${finding.math}$$"]
    return lines + ["", f"**Fix:** {finding.fix}"]


def check_line(name: str, points_shown: str, message: str) -> str:
    """"name (1/2): message", or without the message when there is none (a --feedback hints view)."""
    return f"{name} ({points_shown}): {message}" if message else f"{name} ({points_shown})"
