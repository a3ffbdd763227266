"""Explain what went wrong: turn a run and its trials into findings, each proven by the outputs.

A catalog finding is reported only when its detector explains the student's outputs on every
probe; whatever no detector explains gets a precise generic description with no catalog id.
One finding per cause (grader.causes): a mistake that spoils several outputs is reported once,
on the statement that causes it. The student's source is used to *point* at a line, and to tell
apart two mistakes the numbers fit equally well, never as the basis of a verdict.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from grader.causes import Cause, find_causes
from grader.checks import Trial, changed_arguments
from grader.describe import describe_difference, is_wrong, output_names, turns_non_finite, wrong_at_baseline
from grader.detect import Detection
from grader.extract import Extraction, Location
from grader.locate import Locator
from grader.messages import GENERAL_MISTAKES
from grader.records import Finding
from grader.sandbox import RaisedError, RunOutcome
from grader.spec import Exercise, MistakeText


def run_detectors(exercise: Exercise, trials: Sequence[Trial]) -> dict[str, list[Detection]]:
    """What each of the exercise's detectors finds, by mistake id, in spec order (from the numbers alone)."""
    return {mistake_id: detector(exercise, trials) for mistake_id, detector in exercise.detectors.items()}


def diagnose(exercise: Exercise, extraction: Extraction, run: RunOutcome | None, trials: Sequence[Trial],
             detections: Callable[[], Mapping[str, Sequence[Detection]]] | None = None) -> tuple[Finding, ...]:
    """All findings for one exercise, most fundamental first.

    `detections` returns what run_detectors would (the grader keeps it for runs it reuses).
    """
    writer = _FindingWriter(exercise, extraction)
    if not extraction.found:
        return (writer.not_found(),)
    assert run is not None
    findings: list[Finding] = []
    if run.failure is not None:
        findings.append(writer.failure(run))
    problems = [trial.got for trial in trials if trial.got is not None and trial.got.problem]
    if problems:
        findings.append(writer.wrong_type(problems[0].problem or "", problems[0].unusable))
    errors = [trial.outcome.error for trial in trials if trial.outcome and trial.outcome.error]
    error_finding = writer.error(errors[0], len(errors), len(trials)) if errors else None
    mutation = _mutation(exercise, trials, writer)
    if findings or not any(trial.returned for trial in trials):
        # Nothing usable came back: the outputs cannot be judged, only the failure reported.
        return tuple(findings + [finding for finding in (error_finding, mutation) if finding])
    explanations, errors_explained = _explain_outputs(exercise, trials, writer, detections)
    if error_finding is not None and not errors_explained:
        findings.append(error_finding)
    findings.extend(explanations)
    if mutation is not None:
        findings.append(mutation)
    return _one_per_cause(exercise, findings)


def _mutation(exercise: Exercise, trials: Sequence[Trial], writer: _FindingWriter) -> Finding | None:
    for trial in trials:
        if trial.outcome is not None:
            changed = changed_arguments(exercise, trial.probe.arguments, trial.outcome.arguments_after)
            if changed:
                names = " and ".join(changed)
                evidence = (f"after the call, {names} no longer equal{'s' if len(changed) == 1 else ''} "
                            f"what was passed in (on '{trial.label}')")
                return writer.mutation(changed, evidence)
    return None


def _explain_outputs(exercise: Exercise, trials: Sequence[Trial], writer: _FindingWriter,
                     detections: Callable[[], Mapping[str, Sequence[Detection]]] | None) -> tuple[list[Finding], bool]:
    """Findings for wrong outputs, and whether a detection also explains the calls that raised."""
    findings: list[Finding] = []
    raised = any(trial.outcome is not None and trial.outcome.error for trial in trials)
    wrong = [name for name in output_names(trials) if is_wrong(exercise, trials, name)]
    if not raised and not wrong:
        return findings, False  # every output right on every call: nothing to explain
    found = detections() if detections is not None else run_detectors(exercise, trials)
    causes = find_causes(found, exercise.ancestors)
    explained = {output for cause in causes for output in cause.outputs}
    findings.extend(writer.cause(cause) for cause in causes)
    errors_explained = any(detection.explains_errors for cause in causes for _, detection in cause.candidates)
    non_finite = [name for name in wrong if name not in explained and turns_non_finite(trials, name)]
    if non_finite:
        findings.append(writer.general("nan-or-inf", tuple(non_finite), writer.locator.output(non_finite[0]),
                                       f"non-finite values in {', '.join(non_finite)}", names=", ".join(non_finite)))
        explained.update(non_finite)
    for name in wrong:
        upstream_wrong = [dependency for dependency in exercise.depends_on.get(name, ()) if dependency in wrong]
        if name in explained or upstream_wrong:
            continue  # follows from a mistake already reported upstream
        downstream = tuple(other for other in wrong if name in exercise.ancestors(other) and other not in explained)
        evidence = describe_difference(exercise, trials, name)
        if exercise.baseline_mistake and wrong_at_baseline(exercise, trials, name):
            findings.append(writer.baseline_mistake(name, evidence, downstream))
        else:
            findings.append(writer.generic(name, evidence, downstream))
    return findings, errors_explained


def _one_per_cause(exercise: Exercise, findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Merge the findings of one mistake on one line: a statement that spoils several outputs is one cause."""
    groups: list[list[Finding]] = []
    for finding in findings:
        group = next((group for group in groups if finding.location is not None
                      and (group[0].id, group[0].location) == (finding.id, finding.location)), None)
        if group is None:
            groups.append([finding])
        else:
            group.append(finding)
    merged = []
    for first, *others in groups:
        if not others:
            merged.append(first)
            continue
        outputs = tuple(sorted({output for finding in (first, *others) for output in finding.outputs},
                               key=_order_in(exercise)))
        likewise = [output for output in outputs if output not in first.outputs]
        merged.append(replace(
            first, outputs=outputs,
            title=first.title if first.id is not None else f"{', '.join(outputs)} do not match the expected values",
            evidence=first.evidence + (f" (and likewise for {', '.join(likewise)})" if likewise else "")))
    return tuple(merged)


def _order_in(exercise: Exercise) -> Callable[[str], tuple[int, str]]:
    keys = list(exercise.keys)
    return lambda name: (keys.index(name) if name in keys else len(keys), name)


class _FindingWriter:
    """Fills the prose of findings for one exercise (prose comes from the spec or grader.messages)."""

    def __init__(self, exercise: Exercise, extraction: Extraction) -> None:
        self.exercise = exercise
        self.extraction = extraction
        self.locator = Locator(exercise, extraction)

    def _text(self, mistake_id: str, **details: str) -> MistakeText:
        text = self.exercise.mistakes.get(mistake_id) or GENERAL_MISTAKES[mistake_id]
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
            first, title=f"{first.title}, or {findings[1].title[0].lower()}{findings[1].title[1:]}",
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
        if detection.variable is not None:
            location = locator.assignment(locator.student_name(detection.variable), output)
        if location is None and output is not None:
            if detection.absent:
                location = locator.assembly(output)
            elif detection.part == "baseline":
                location = locator.output(output)
            else:
                location = locator.term(output, detection.sources)
        return Finding(mistake_id, text.title, detection.outputs, location or locator.returned(), detection.evidence,
                       text.explanation, text.fix, text.math)

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
        if error.type_name == "NameError" and missing_name and missing_name.group(1) in self.extraction.notebook_globals:
            return self.general("uses-notebook-global", (), location, evidence, numeric=False,
                                names=missing_name.group(1))
        unfinished = self._unfinished(error, missing_name.group(1) if missing_name else None)
        if unfinished is not None:
            where, what = unfinished
            return self.general("not-implemented", (), where or location, evidence, numeric=False, what=what)
        return self.general("exception", (), location, evidence, numeric=False, error=described)

    def wrong_type(self, problem: str, unusable: tuple[str, ...]) -> Finding:
        if self.extraction.placeholders:
            placeholder = self.extraction.placeholders[0]
            what = (f"{', '.join(unusable)} {'is' if len(unusable) == 1 else 'are'} still `None`" if unusable
                    else "`None` is left where code belongs")
            return self.general("not-implemented", unusable, placeholder, problem, numeric=False, what=what)
        expected = "a number" if self.exercise.returns == "number" else "a dict with the keys " + ", ".join(self.exercise.keys)
        return self.general("wrong-type", unusable, self.locator.returned(), problem, numeric=False,
                            problem=problem, expected=expected)

    def _unfinished(self, error: RaisedError, missing_name: str | None) -> tuple[Location | None, str] | None:
        """(where, what) when the error comes from a template left unfilled; None for a genuine error."""
        if error.type_name == "NotImplementedError":
            return self.locator.error(error), "the template's `raise NotImplementedError` is still there"
        placeholders = self.extraction.placeholders
        if error.type_name == "TypeError" and "NoneType" in error.message and placeholders:
            return placeholders[0], "`None` is left where code belongs"
        # The newer template leaves the line as a comment ("# dW3 = ..."), so the name is never assigned.
        if missing_name is None or self.locator.node is None or self.locator.stores(missing_name):
            return None
        pattern = re.compile(rf"#\s*{re.escape(missing_name)}\s*=")
        for line, text in self.locator.lines():
            if pattern.search(text):
                return self.extraction.locate(line), f"`{missing_name}` is only in a comment, so it is never computed"
        return None


def _consequence(downstream: Sequence[str]) -> str:
    """" dW2, db2 and dA1, computed from it, are wrong as a consequence." ("" when nothing is)."""
    if not downstream:
        return ""
    names = downstream[0] if len(downstream) == 1 else f"{', '.join(downstream[:-1])} and {downstream[-1]}"
    return f" {names}, computed from it, {'is' if len(downstream) == 1 else 'are'} wrong as a consequence."


def _fill(text: str, values: Mapping[str, str]) -> str:
    """Fill `{name}` placeholders that have values; leave other braces (e.g. math) alone."""
    return re.sub(r"\{(\w+)\}", lambda match: str(values.get(match.group(1), match.group(0))), text)
