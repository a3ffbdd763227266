"""What CI tools and course platforms read: JUnit XML, Gradescope's results.json, a GitHub job summary.

Pure functions of results (except `append_github_summary`, which appends to the file GitHub
names). JUnit: one testcase per submission × exercise; a failure carries the feedback.
Gradescope (https://gradescope-autograders.readthedocs.io/en/latest/specs/): one test per
exercise with score, max_score, status, name, output (Markdown) and visibility.
"""
from __future__ import annotations

import json
import os
import re
import sys
import xml.etree.ElementTree as ElementTree
from typing import Any

from grader.render import finding_markdown, finding_text
from grader.reports import GRADER_FAILURE, ClassReport, markdown_cell, points_text
from grader.result import ExerciseResult, SubmissionResult

GITHUB_SUMMARY_BYTES = 1 << 20
"""GitHub refuses a job summary larger than 1 MiB."""
_GITHUB_TABLE_ROWS = 200
# Characters XML 1.0 cannot hold even escaped (student code may contain them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


# ---- feedback for one exercise -----------------------------------------------------------


def exercise_markdown(exercise: ExerciseResult) -> str:
    """An exercise's checks and findings as Markdown (a Gradescope test's output)."""
    lines = [f"- {'✅' if check.passed else '❌'} {check.name} "
             f"({points_text(check.score)}/{points_text(check.max_score)}): {check.message}"
             for check in exercise.checks]
    for finding in exercise.findings:
        lines += ["", *finding_markdown(finding, heading="")]
    lines += ["", *(f"*Note:* {note}" for note in exercise.notes)] if exercise.notes else []
    return "\n".join(lines)


def exercise_text(exercise: ExerciseResult) -> str:
    """An exercise's checks and findings as plain text (a JUnit failure's body)."""
    lines = [f"{'✓' if check.passed else '✗'} {check.name} "
             f"({points_text(check.score)}/{points_text(check.max_score)}): {check.message}"
             for check in exercise.checks]
    for finding in exercise.findings:
        lines += ["", *finding_text(finding, indent="")]
    lines += [f"note: {note}" for note in exercise.notes]
    return "\n".join(lines)


# ---- Gradescope ---------------------------------------------------------------------------


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


def render_gradescope(result: SubmissionResult, version: str = "", colour: bool = False) -> str:
    """Gradescope's results.json for one submission, as text (a per-submission renderer)."""
    return json.dumps(gradescope_results(result), ensure_ascii=False, allow_nan=False, indent=1)


# ---- JUnit --------------------------------------------------------------------------------


class JUnitReport:
    """Accumulates results (in the batch's order) into one JUnit XML document."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._suites: list[ElementTree.Element] = []
        self.tests = self.failures = self.errors = 0

    def add(self, submission_id: str, result: SubmissionResult) -> None:
        """One testsuite per submission, one testcase per exercise."""
        failure = next((message for kind, message in result.errors if kind == GRADER_FAILURE), None)
        suite = ElementTree.Element("testsuite", name=_xml_text(submission_id))
        properties = ElementTree.SubElement(suite, "properties")
        for key, value in (("path", result.path), ("score", points_text(result.score)),
                           ("max_score", points_text(result.max_score)), ("status", result.status)):
            ElementTree.SubElement(properties, "property", name=key, value=_xml_text(value))
        failures = errors = 0
        for exercise in result.exercises:
            case = ElementTree.SubElement(suite, "testcase", classname=_xml_text(submission_id),
                                          name=exercise.function)
            points = f"{points_text(exercise.score)}/{points_text(exercise.max_score)} points"
            if failure is not None:
                errors += 1
                element = ElementTree.SubElement(case, "error", type=GRADER_FAILURE,
                                                 message=_xml_text(f"not graded: {failure}"))
                element.text = _xml_text(failure)
            elif exercise.status != "passed":
                failures += 1
                titles = "; ".join(f.title for f in exercise.findings)
                message = f"{exercise.status}, {points}" + (f": {titles}" if titles else "")
                element = ElementTree.SubElement(case, "failure", type=exercise.status, message=_xml_text(message))
                element.text = _xml_text(exercise_text(exercise))
            else:
                ElementTree.SubElement(case, "system-out").text = points
        suite.set("tests", str(len(result.exercises)))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("skipped", "0")
        self.tests += len(result.exercises)
        self.failures += failures
        self.errors += errors
        self._suites.append(suite)

    def xml(self) -> str:
        root = ElementTree.Element("testsuites", name=_xml_text(self.name), tests=str(self.tests),
                                   failures=str(self.failures), errors=str(self.errors))
        root.extend(self._suites)
        ElementTree.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


# ---- GitHub job summary -------------------------------------------------------------------


def github_summary(report: ClassReport, single: SubmissionResult | None = None) -> str:
    """The job summary: for one submission its feedback, for a batch the class summary and a table of grades."""
    if single is not None and len(report.rows) == 1:
        from grader.render import render_markdown

        return _bounded(render_markdown(single, "", False))
    lines = [report.summary_markdown(), "## Grades", "", "| submission | score | status | findings |",
             "|---|---:|---|---|"]
    for row in report.rows[:_GITHUB_TABLE_ROWS]:
        status = GRADER_FAILURE if row.grader_failure else row.status
        lines.append(f"| `{markdown_cell(row.id)}` | {points_text(row.score)}/{points_text(row.max_score)} | {status} | "
                     f"{' '.join(f'`{finding}`' for finding in row.finding_ids)} |")
    if len(report.rows) > _GITHUB_TABLE_ROWS:
        lines.append(f"\n… and {len(report.rows) - _GITHUB_TABLE_ROWS} more: see grades.csv.")
    return _bounded("\n".join(lines) + "\n")


def _bounded(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= GITHUB_SUMMARY_BYTES - 200:
        return text
    return data[: GITHUB_SUMMARY_BYTES - 200].decode("utf-8", "ignore") + "\n\n… (cut: GitHub's 1 MiB limit)\n"


def append_github_summary(text: str) -> bool:
    """Append to the file `$GITHUB_STEP_SUMMARY` names, when it is set; returns whether it was.

    A summary that cannot be written is worth a warning, not the grades: they are all written already.
    """
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    try:
        with open(target, "a", encoding="utf-8") as file:
            file.write(text if text.endswith("\n") else text + "\n")
    except OSError as error:
        print(f"grade: warning: cannot write the GitHub job summary to {target} ({error.strerror or error}); "
              "the grades are written, only the summary is missing", file=sys.stderr)
        return False
    return True
