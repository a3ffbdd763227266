"""JUnit XML for CI: one testsuite per submission, one testcase per exercise; a failure carries the feedback."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from grader.feedback.blocks import check_line, finding_text, points_text
from grader.feedback.registry import batch_document
from grader.records import ExerciseResult, SubmissionResult
from grader.scoring import GRADER_FAILURE

batch_document("junit", "junit.xml", "one JUnit XML document for the batch")
# Characters XML 1.0 cannot hold even escaped (student code may contain them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def exercise_text(exercise: ExerciseResult) -> str:
    """An exercise's checks and findings as plain text (a JUnit failure's body)."""
    lines = [f"{'✓' if check.passed else '✗'} "
             + check_line(check.name, f"{points_text(check.score)}/{points_text(check.max_score)}", check.message)
             for check in exercise.checks]
    for finding in exercise.findings:
        lines += ["", *finding_text(finding, indent="")]
    lines += [f"note: {note}" for note in exercise.notes]
    return "\n".join(lines)


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
