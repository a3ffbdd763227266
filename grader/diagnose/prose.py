"""The words of findings: the spec's prose (or the engine's generic prose) filled with what the numbers showed.

One `FindingWriter` per exercise and submission: it knows where the student's lines are
(grader.diagnose.locate) and turns detections, failures and generic descriptions into Findings.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from grader.assignment.model import Exercise, MistakeText
from grader.diagnose.causes import Cause
from grader.diagnose.locate import Locator
from grader.diagnose.messages import GENERAL_MISTAKES
from grader.records import Detection, Extraction, Finding, Location, RaisedError, RunOutcome

_QUOTED_LINES = 6
"""At most this many lines quoted for one finding (a mistake spread over the lines building one variable)."""


class FindingWriter:
    """Fills the prose of findings for one exercise (prose comes from the spec or grader.diagnose.messages)."""

    def __init__(self, exercise: Exercise, extraction: Extraction) -> None:
        self.exercise = exercise
        self.extraction = extraction
        self.locator = Locator(exercise, extraction)

    def _text(self, mistake_id: str, **details: str) -> MistakeText:
        exercise = self.exercise
        text = (exercise.mistakes.get(mistake_id) or exercise.general_prose.get(mistake_id)
                or GENERAL_MISTAKES[mistake_id])
        values = {"function": self.exercise.function, **details}
        return MistakeText(*(_fill(part, values) for part in (text.title, text.explanation, text.fix, text.math)))

    def general(self, mistake_id: str, outputs: tuple[str, ...], location: Location | None, evidence: str,
                numeric: bool = True, **details: str) -> Finding:
        text = self._text(mistake_id, **details)
        return Finding(mistake_id, text.title, outputs, location, evidence, text.explanation, text.fix, text.math,
                       numeric=numeric)

    def cause(self, cause: Cause) -> Finding:
        """The finding for a cause; rivals are told apart by the code, or reported together."""
        candidates = cause.candidates
        if len(candidates) > 1:
            verdicts = [self._shown_by_code(detection) for _, detection in candidates]
            shown = [candidate for candidate, verdict in zip(candidates, verdicts) if verdict is True]
            possible = [candidate for candidate, verdict in zip(candidates, verdicts) if verdict is not False]
            candidates = tuple(shown if len(shown) == 1 else possible or candidates)
        findings = [self.catalog(mistake_id, detection) for mistake_id, detection in candidates]
        if len(findings) == 1:
            return findings[0]
        first = findings[0]
        either = " If it is the other: ".join(f"{finding.title}. {finding.explanation}" for finding in findings)
        others = [finding.location for finding in findings[1:] if finding.location not in (None, first.location)]
        return replace(
            first, title=f"{first.title}, or {_mid_sentence(findings[1].title)}",
            explanation=(f"Two mistakes give exactly these numbers, and your code does not show which it is. "
                         f"If it is the first: {either}"),
            fix=" Or: ".join(finding.fix for finding in findings),
            alternatives=tuple(finding.id for finding in findings[1:] if finding.id),
            locations=tuple(location for location in others if location is not None))

    def _shown_by_code(self, detection: Detection) -> bool | None:
        if detection.variable is None or not detection.right_values or not detection.outputs:
            return None
        return self.locator.variable_verdict(detection.variable, detection.right_values, detection.outputs[0])

    def catalog(self, mistake_id: str, detection: Detection) -> Finding:
        text = self._text(mistake_id, **detection.details)
        output = detection.outputs[0] if detection.outputs else None
        locator = self.locator
        location = None
        if detection.line is not None:  # e.g. where the call raised: the most precise place there is
            location = self.extraction.locate(detection.line)
        quoted = locator.assignments_to(detection.points_at) if detection.points_at and location is None else []
        if quoted:
            return Finding(mistake_id, text.title, detection.outputs, quoted[0], detection.evidence, text.explanation,
                           text.fix, text.math, locations=tuple(quoted[1:_QUOTED_LINES]))
        if location is None and detection.variable is not None:
            location = locator.assignment(locator.student_name(detection.variable), output)
        if location is None and output is not None:
            if detection.absent:
                location = locator.assembly(output)
            elif detection.part == "baseline":
                location = locator.output(output)
            else:
                location = locator.term(output, detection.sources)
        more: tuple[Location, ...] = ()
        if detection.calls:
            calling = locator.calls(detection.calls, detection.outputs)
            if calling:
                location, more = calling[0], tuple(calling[1:])
        return Finding(mistake_id, text.title, detection.outputs, location or locator.returned(), detection.evidence,
                       text.explanation, text.fix, text.math, locations=more)

    def baseline_mistake(self, name: str, evidence: str, downstream: tuple[str, ...]) -> Finding:
        mistake_id = self.exercise.baseline_mistake
        assert mistake_id is not None and self.exercise.baseline_mistake_text is not None
        text = self.exercise.baseline_mistake_text
        details = {"function": self.exercise.function, "output": name, "consequence": _consequence(downstream)}
        return Finding(mistake_id, _fill(text.title, details), (name, *downstream), self.locator.output(name),
                       evidence, _fill(text.explanation, details), _fill(text.fix, details), _fill(text.math, details))

    def generic(self, name: str, evidence: str, downstream: tuple[str, ...]) -> Finding:
        return Finding(
            None, f"{name} does not match the expected value", (name, *downstream), self.locator.output(name),
            evidence, _consequence(downstream).strip(),
            f"Re-derive {name} on paper for a tiny case and compare with the line shown.",
        )

    def mutation(self, changed: Sequence[str], evidence: str) -> Finding:
        """Every argument the numbers show changed, each with the lines that change it in place."""
        writes = self.locator.mutations()
        described = []
        for name in changed:
            student = self.locator.student_name(name)
            lines = [location for argument, location in writes if argument == student]
            described.append(f"`{student}`" + (f" ({', '.join(f'`{line.code}`' for line in lines)})" if lines else ""))
        locations = [location for _, location in writes]
        finding = self.general("mutates-inputs", (), locations[0] if locations else None, evidence,
                               names=" and ".join(described))
        return replace(finding, locations=tuple(locations[1:]))

    def not_found(self) -> Finding:
        extraction = self.extraction
        if extraction.syntax_error is not None:
            problem = extraction.syntax_error
            return self.general("syntax-error", (), problem.location, problem.message, numeric=False,
                                message=problem.message)
        misses = extraction.near_misses
        near = f" (similar names found: {', '.join(misses)})" if misses else ""
        evidence = f"similar names: {', '.join(misses)}" if misses else "no definition with this name in any code cell"
        return self.general("function-not-found", (), None, evidence, numeric=False, near_misses=near)

    def failure(self, run: RunOutcome) -> Finding:
        failure = run.failure
        assert failure is not None
        location = self.locator.error(failure.error) or self.extraction.definition
        if failure.kind == "timeout" and failure.error is not None:
            location = self.locator.loop_around(failure.error.line) or location
        if failure.kind in ("timeout", "memory-limit", "output-limit", "crashed"):
            return self.general(failure.kind, (), location, failure.message, numeric=False, message=failure.message)
        if failure.error is not None:
            return self.error(failure.error, 1, 1)
        return self.general("exception", (), location, failure.message, numeric=False, error=failure.message)

    def error(self, error: RaisedError, count: int, total: int) -> Finding:
        described = f"{error.type_name}: {error.message}" if error.message else error.type_name
        evidence = f"{described} (on {count} of {total} probes)"
        location = self.locator.error(error)
        missing_name = re.match(r"name '(\w+)' is not defined", error.message or "")
        globals_read = self.extraction.notebook_globals
        if error.type_name == "NameError" and missing_name and missing_name.group(1) in globals_read:
            return self.general("uses-notebook-global", (), location, evidence, numeric=False,
                                names=missing_name.group(1))
        unfinished = self._unfinished(error, missing_name.group(1) if missing_name else None)
        if unfinished is not None:
            where, what = unfinished
            return self.general("not-implemented", (), where or location, evidence, numeric=False, what=what)
        # The explanation names the error's type only: its message, which the student's code writes and which may
        # show the grader's inputs, stays in the evidence (left out of --feedback hints).
        return self.general("exception", (), location, evidence, numeric=False, error=error.type_name)

    def wrong_type(self, problem: str, unusable: tuple[str, ...]) -> Finding:
        if self.extraction.placeholders:
            placeholder = self.extraction.placeholders[0]
            what = (f"{', '.join(unusable)} {'is' if len(unusable) == 1 else 'are'} still `None`" if unusable
                    else "`None` is left where code belongs")
            return self.general("not-implemented", unusable, placeholder, problem, numeric=False, what=what)
        expected = self.exercise.returns.describe()
        return self.general("wrong-type", unusable, self.locator.returned(), problem, numeric=False,
                            problem=problem, expected=expected)

    def _unfinished(self, error: RaisedError, missing_name: str | None) -> tuple[Location | None, str] | None:
        """(where, what) when the error comes from a template left unfilled; None for a genuine error."""
        if error.type_name == "NotImplementedError":
            return self.locator.error(error), "the template's `raise NotImplementedError` is still there"
        placeholders = self.extraction.placeholders
        if error.type_name == "TypeError" and "NoneType" in error.message and placeholders:
            return placeholders[0], "`None` is left where code belongs"
        # A template may leave the line as a comment ("# output = ..."), so the name is never assigned.
        if missing_name is None or self.locator.node is None or self.locator.stores(missing_name):
            return None
        pattern = re.compile(rf"#\s*{re.escape(missing_name)}\s*=")
        for line, text in self.locator.lines():
            if pattern.search(text):
                return self.extraction.locate(line), f"`{missing_name}` is only in a comment, so it is never computed"
        return None


def _consequence(downstream: Sequence[str]) -> str:
    """" b, c and d, computed from it, are wrong as a consequence." ("" when nothing is)."""
    if not downstream:
        return ""
    names = downstream[0] if len(downstream) == 1 else f"{', '.join(downstream[:-1])} and {downstream[-1]}"
    return f" {names}, computed from it, {'is' if len(downstream) == 1 else 'are'} wrong as a consequence."


def _fill(text: str, values: Mapping[str, str]) -> str:
    """Fill `{name}` placeholders that have values; leave other braces (e.g. math) alone."""
    return re.sub(r"\{(\w+)\}", lambda match: str(values.get(match.group(1), match.group(0))), text)


def _mid_sentence(title: str) -> str:
    """A title continued mid-sentence: its first letter lowered, unless its first word is a name (`A1`, `W`, `CE`)."""
    word = title.split(" ", 1)[0]
    is_name = word != "A" and not (len(word) > 1 and word[1:].islower())
    return title if is_name else title[0].lower() + title[1:]
