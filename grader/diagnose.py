"""Explain what went wrong: turn a run and its trials into findings, each proven by the outputs.

A catalog finding is reported only when its detector explains the student's outputs on every
probe; whatever no detector explains gets a precise generic description with no catalog id.
The student's source is used to *point* at a line, never as the basis of a verdict.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from grader.checks import Trial, changed_arguments
from grader.compare import all_close, close
from grader.detect import Detection
from grader.extract import Extraction, Location
from grader.messages import GENERAL_MISTAKES
from grader.sandbox import RaisedError, RunOutcome
from grader.spec import Exercise, MistakeText
from grader.syntax import walk


@dataclass(frozen=True, slots=True)
class Finding:
    """One explained mistake, as the student will read it."""

    id: str | None
    """Catalog id (../shared/MISTAKES.md), or None for a generic description."""
    title: str
    outputs: tuple[str, ...]
    """The outputs this mistake makes wrong."""
    location: Location | None
    """The student's line that causes it, when known."""
    evidence: str
    """What in the numbers proves it."""
    explanation: str
    fix: str
    math: str = ""
    """The key formula in LaTeX, when the mistake's prose has one."""


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
    problems = [trial.got.problem for trial in trials if trial.got is not None and trial.got.problem]
    if problems:
        findings.append(writer.wrong_type(problems[0]))
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
    return tuple(findings)


def _mutation(exercise: Exercise, trials: Sequence[Trial], writer: _FindingWriter) -> Finding | None:
    for trial in trials:
        if trial.outcome is not None:
            changed = changed_arguments(exercise, trial.probe.arguments, trial.outcome.arguments_after)
            if changed:
                evidence = (f"after the call, {' and '.join(changed)} no longer equal{'s' if len(changed) == 1 else ''} "
                            f"what was passed in (probe '{trial.probe.name}')")
                return writer.general("mutates-inputs", (), writer.locate_mutation(), evidence, names=", ".join(changed))
    return None


def _explain_outputs(exercise: Exercise, trials: Sequence[Trial], writer: _FindingWriter,
                     detections: Callable[[], Mapping[str, Sequence[Detection]]] | None) -> tuple[list[Finding], bool]:
    """Findings for wrong outputs, and whether a detection also explains the calls that raised."""
    findings: list[Finding] = []
    explained: set[str] = set()
    errors_explained = False
    raised = any(trial.outcome is not None and trial.outcome.error for trial in trials)
    wrong = [name for name in _output_names(exercise, trials) if _is_wrong(exercise, trials, name)]
    if not raised and not wrong:
        return findings, errors_explained  # every output right on every call: nothing to explain
    found = detections() if detections is not None else run_detectors(exercise, trials)
    for mistake_id, listed in found.items():  # in spec order: earlier ids take precedence
        for detection in listed:
            if detection.outputs and all(output in explained or explained & _ancestors(exercise, output)
                                         for output in detection.outputs):
                continue  # already explained, by this mistake upstream or by an earlier one
            findings.append(writer.catalog(mistake_id, detection))
            explained.update(detection.outputs)
            errors_explained |= detection.explains_errors
    non_finite = [name for name in wrong if name not in explained and _turns_non_finite(trials, name)]
    if non_finite:
        findings.append(writer.general("nan-or-inf", tuple(non_finite), writer.locate_output(non_finite[0]),
                                       f"non-finite values in {', '.join(non_finite)}", names=", ".join(non_finite)))
        explained.update(non_finite)
    for name in wrong:
        upstream_wrong = [dependency for dependency in exercise.depends_on.get(name, ()) if dependency in wrong]
        if name in explained or upstream_wrong:
            continue  # follows from a mistake already reported upstream
        downstream = tuple(other for other in wrong if name in _ancestors(exercise, other) and other not in explained)
        evidence = describe_difference(exercise, trials, name)
        if exercise.baseline_mistake and _wrong_at_baseline(exercise, trials, name):
            findings.append(writer.baseline_mistake(name, evidence, downstream))
        else:
            findings.append(writer.generic(name, evidence, downstream))
    return findings, errors_explained


def _wrong_at_baseline(exercise: Exercise, trials: Sequence[Trial], name: str) -> bool:
    for trial in trials:
        got, expected = ((trial.baseline_got, trial.baseline_expected) if trial.baseline_expected is not None
                         else (trial.got, trial.expected))
        value = got.values.get(name) if got is not None and not got.problem else None
        if value is None or not close(value, expected[name], exercise.tolerance):
            return True
    return False


def _output_names(exercise: Exercise, trials: Sequence[Trial]) -> list[str]:
    return list(trials[0].expected) if trials else []


def _ancestors(exercise: Exercise, name: str) -> set[str]:
    seen: set[str] = set()
    pending = list(exercise.depends_on.get(name, ()))
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(exercise.depends_on.get(current, ()))
    return seen


def _pairs(trials: Sequence[Trial], name: str) -> list[tuple[str, np.ndarray | None, np.ndarray, bool]]:
    """(probe, got, expected, is_baseline) for every call of every trial."""
    pairs = []
    for trial in trials:
        if trial.got is not None:
            pairs.append((trial.probe.name, trial.got.values.get(name), trial.expected[name], False))
        if trial.baseline_expected is not None and trial.baseline_got is not None:
            pairs.append((trial.probe.name, trial.baseline_got.values.get(name), trial.baseline_expected[name], True))
    return pairs


def _is_wrong(exercise: Exercise, trials: Sequence[Trial], name: str) -> bool:
    return not all_close(((got, expected) for _, got, expected, _ in _pairs(trials, name)), exercise.tolerance)


def _turns_non_finite(trials: Sequence[Trial], name: str) -> bool:
    return any(
        got is not None and not np.all(np.isfinite(got)) and np.all(np.isfinite(expected))
        for _, got, expected, _ in _pairs(trials, name)
    )


def describe_difference(exercise: Exercise, trials: Sequence[Trial], name: str) -> str:
    """A precise, catalog-free account of how an output differs: where, by how much, in what pattern."""
    pairs = _pairs(trials, name)
    wrong = [(probe, got, expected, base) for probe, got, expected, base in pairs
             if got is None or not close(got, expected, exercise.tolerance)]
    baseline = " and ".join(f"{key} = {value:g}" if isinstance(value, (int, float)) else f"{key} = {value!r}"
                            for key, value in exercise.baseline.items())
    sentences = [f"{name} is wrong on {len({probe for probe, *_ in wrong})} of {len(trials)} probes"]
    if baseline and any(base for *_, base in pairs):
        right_at_baseline = not any(base for *_, base in wrong)
        sentences[0] += (f", but right when {baseline}: the part that depends on it is wrong" if right_at_baseline
                         else f", even when {baseline}: the part that does not depend on it is wrong")
    probe, got, expected, _ = wrong[0]
    if got is None:
        sentences.append("it is missing")
    elif got.shape != expected.shape:
        transposed = " (the transpose of the right shape)" if got.shape == expected.shape[::-1] else ""
        sentences.append(f"it has shape {got.shape} instead of {expected.shape}{transposed} on '{probe}'")
    else:
        sentences.append(_pattern(got, expected, exercise) + f" on '{probe}'")
        largest = max(
            (float(np.max(np.abs(g - e))), p) for p, g, e, _ in wrong if g is not None and g.shape == e.shape
        )
        sentences.append(f"largest difference {largest[0]:.3g} (on '{largest[1]}')")
    return "; ".join(sentences) + "."


def _pattern(got: np.ndarray, expected: np.ndarray, exercise: Exercise) -> str:
    difference = got - expected
    tolerance = exercise.tolerance
    scale = tolerance.atol + tolerance.rtol * float(np.max(np.abs(expected), initial=0.0))
    if difference.size > 1 and float(np.ptp(difference)) <= scale:
        return f"every entry is off by the same constant ({float(difference.flat[0]):+.4g})"
    nonzero = np.abs(expected) > scale
    if np.any(nonzero):
        ratios = got[nonzero] / expected[nonzero]
        if float(np.ptp(ratios)) <= 1e-6 * max(1.0, abs(float(ratios[0]))) and np.allclose(got[~nonzero], 0, atol=scale):
            return f"it is {float(ratios[0]):.4g} times the correct value"
    if got.ndim == 2 and got.shape[0] == got.shape[1] and close(got.T, expected, tolerance):
        return "it is the transpose of the correct value"
    bad = int(np.sum(~np.isclose(got, expected, rtol=tolerance.rtol, atol=tolerance.atol)))
    return f"{bad} of {got.size} entries differ, by no common offset or factor"


class _FindingWriter:
    """Fills the prose of findings for one exercise (prose comes from the spec or grader.messages)."""

    def __init__(self, exercise: Exercise, extraction: Extraction) -> None:
        self.exercise = exercise
        self.extraction = extraction

    def _text(self, mistake_id: str, **details: str) -> MistakeText:
        text = self.exercise.mistakes.get(mistake_id) or GENERAL_MISTAKES[mistake_id]
        values = {"function": self.exercise.function, **details}
        return MistakeText(*(_fill(part, values) for part in (text.title, text.explanation, text.fix, text.math)))

    def general(self, mistake_id: str, outputs: tuple[str, ...], location: Location | None, evidence: str,
                **details: str) -> Finding:
        text = self._text(mistake_id, **details)
        return Finding(mistake_id, text.title, outputs, location, evidence, text.explanation, text.fix, text.math)

    def catalog(self, mistake_id: str, detection: Detection) -> Finding:
        text = self._text(mistake_id, **detection.details)
        output = detection.outputs[0] if detection.outputs else None
        location = None
        if detection.variable is not None:
            location = self.locate_assignment(self._student_name(detection.variable), output)
        if location is None and output is not None:
            location = self.locate_term(output, detection.sources) if detection.term else self.locate_output(output)
        return Finding(mistake_id, text.title, detection.outputs, location or self.locate_return(), detection.evidence,
                       text.explanation, text.fix, text.math)

    def baseline_mistake(self, name: str, evidence: str, downstream: tuple[str, ...]) -> Finding:
        mistake_id = self.exercise.baseline_mistake
        assert mistake_id is not None and self.exercise.baseline_mistake_text is not None
        text = self.exercise.baseline_mistake_text
        details = {"function": self.exercise.function, "output": name,
                   "downstream": ", ".join(downstream) or "nothing else"}
        return Finding(mistake_id, _fill(text.title, details), (name, *downstream), self.locate_output(name), evidence,
                       _fill(text.explanation, details), _fill(text.fix, details), _fill(text.math, details))

    def _student_name(self, name: str) -> str:
        """The student's name for a spec parameter (they may rename `lambd`); other names as they are."""
        parameters = self.exercise.parameters
        if name in parameters and len(self.extraction.parameters) == len(parameters):
            return self.extraction.parameters[parameters.index(name)]
        return name

    def locate_assignment(self, variable: str, before_output: str | None) -> Location | None:
        """The last assignment to `variable` in the function (before the output's line, when known)."""
        node = self.extraction.function_node()
        if node is None:
            return None
        limit = None
        if before_output is not None:
            statement = self._output_statement(node, before_output)
            limit = statement.lineno if statement is not None else None
        found = [
            n for n in walk(node)
            if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and _assigns_plainly(n, variable)
            and (limit is None or n.lineno <= limit)
        ]
        return self.extraction.locate(max(found, key=lambda n: n.lineno).lineno) if found else None

    def locate_term(self, name: str, sources: tuple[str, ...] = ()) -> Location | None:
        """The statement building the part of output `name` that depends on the baseline argument (λ).

        Follows simple data flow: `reg = lambd/m*np.sum(W1)` then `dW1 = ... + reg` points at `reg = ...`.
        """
        node = self.extraction.function_node()
        if node is None:
            return None
        statement = self._output_statement(node, name)
        if statement is None:
            return self.locate_output(name)
        parameters = {self._student_name(parameter) for parameter in (*self.exercise.baseline, *sources)}
        for _ in range(5):  # a short chain of helper variables at most
            reads = {n.id for n in walk(_value_of(statement)) if isinstance(n, ast.Name)}
            if reads & parameters:
                break
            found = (_last_assignment(node, ast.Name(id=variable, ctx=ast.Load(), lineno=statement.lineno))
                     for variable in sorted(reads))
            # Descend into helpers that compute from the sources, not into ones that merely unpack them
            # (`W1 = parameters["W1"]`, `(..., W1, ...) = cache`).
            helpers = [helper for helper in found if helper is not None and _depends_on(node, helper, parameters)
                       and _root_name(_value_of(helper)) not in parameters]
            if not helpers:
                break
            statement = max(helpers, key=lambda helper: helper.lineno)
        return self.extraction.locate(statement.lineno)

    def _output_statement(self, node: ast.FunctionDef, name: str) -> ast.stmt | None:
        expression = _returned_expression(node, name, self.exercise.returns == "number")
        if expression is None:
            return None
        statement = _last_assignment(node, expression)
        if statement is None:
            return next((n for n in walk(node) if isinstance(n, ast.Return) and n.lineno == expression.lineno), None)
        return statement

    def generic(self, name: str, evidence: str, downstream: tuple[str, ...]) -> Finding:
        consequence = (f" {', '.join(downstream)} {'is' if len(downstream) == 1 else 'are'} computed from it and "
                       "wrong as a consequence.") if downstream else ""
        return Finding(
            None, f"{name} does not match the expected value", (name, *downstream), self.locate_output(name),
            evidence, f"The value of {name} differs from the correct one.{consequence}",
            f"Re-derive {name} on paper for a tiny case and compare with the line shown.",
        )

    def not_found(self) -> Finding:
        extraction = self.extraction
        if extraction.syntax_error is not None:
            problem = extraction.syntax_error
            return self.general("syntax-error", (), problem.location, problem.message, message=problem.message)
        misses = extraction.near_misses
        near = f" (similar names found: {', '.join(misses)})" if misses else ""
        evidence = f"similar names: {', '.join(misses)}" if misses else "no definition with this name in any code cell"
        return self.general("function-not-found", (), None, evidence, near_misses=near)

    def failure(self, run: RunOutcome) -> Finding:
        failure = run.failure
        assert failure is not None
        location = self._error_location(failure.error) or self.extraction.definition
        if failure.kind == "timeout" and failure.error is not None:
            location = self._loop_around(failure.error.line) or location
        if failure.kind in ("timeout", "memory-limit", "output-limit", "crashed"):
            return self.general(failure.kind, (), location, failure.message, message=failure.message)
        if failure.error is not None:
            return self.error(failure.error, 1, 1)
        return self.general("exception", (), location, failure.message, error=failure.message)

    def error(self, error: RaisedError, count: int, total: int) -> Finding:
        described = f"{error.type_name}: {error.message}" if error.message else error.type_name
        evidence = f"{described} (on {count} of {total} probes)"
        location = self._error_location(error)
        missing_name = re.match(r"name '(\w+)' is not defined", error.message or "")
        if error.type_name == "NameError" and missing_name and missing_name.group(1) in self.extraction.notebook_globals:
            return self.general("uses-notebook-global", (), location, evidence, names=missing_name.group(1))
        unfinished = self._unfinished(error, missing_name.group(1) if missing_name else None)
        if unfinished is not None:
            where, what = unfinished
            return self.general("not-implemented", (), where or location, evidence, what=what)
        return self.general("exception", (), location, evidence, error=described)

    def wrong_type(self, problem: str) -> Finding:
        if self.extraction.placeholders:
            return self.general("not-implemented", (), self.extraction.placeholders[0], problem,
                                what="`None` is left where code belongs")
        expected = "a number" if self.exercise.returns == "number" else "a dict with the keys " + ", ".join(self.exercise.keys)
        return self.general("wrong-type", (), self.locate_return(), problem, problem=problem, expected=expected)

    def _unfinished(self, error: RaisedError, missing_name: str | None) -> tuple[Location | None, str] | None:
        """(where, what) when the error comes from a template left unfilled; None for a genuine error."""
        if error.type_name == "NotImplementedError":
            return self._error_location(error), "the template's `raise NotImplementedError` is still there"
        placeholders = self.extraction.placeholders
        if error.type_name == "TypeError" and "NoneType" in error.message and placeholders:
            return placeholders[0], "`None` is left where code belongs"
        # The newer template leaves the line as a comment ("# dW3 = ..."), so the name is never assigned.
        node = self.extraction.function_node()
        if missing_name is None or node is None:
            return None
        if any(isinstance(n, ast.Name) and n.id == missing_name and isinstance(n.ctx, ast.Store) for n in walk(node)):
            return None
        pattern = re.compile(rf"#\s*{re.escape(missing_name)}\s*=")
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
            if pattern.search(self.extraction.source.splitlines()[line - 1]):
                return self.extraction.locate(line), f"`{missing_name}` is only in a comment, so it is never computed"
        return None

    def _loop_around(self, module_line: int | None) -> Location | None:
        """The header of the innermost loop containing a line: where a time-out is best explained."""
        node = self.extraction.function_node()
        if node is None or module_line is None:
            return None
        loops = [n for n in walk(node) if isinstance(n, (ast.While, ast.For))
                 and n.lineno <= module_line <= (n.end_lineno or n.lineno)]
        return self.extraction.locate(max(loops, key=lambda n: n.lineno).lineno) if loops else None

    def _error_location(self, error: RaisedError | None) -> Location | None:
        return self.extraction.locate(error.line) if error is not None else None

    def locate_return(self) -> Location | None:
        """Where the returned value is built: `grads = {...}` for `return grads`, else the return itself."""
        node = self.extraction.function_node()
        returns = [n for n in walk(node) if isinstance(n, ast.Return)] if node else []
        if not returns:
            return self.extraction.definition
        last = max(returns, key=lambda n: n.lineno)
        built = _last_assignment(node, last.value) if node is not None and last.value is not None else None
        return self.extraction.locate((built or last).lineno)

    def locate_mutation(self) -> Location | None:
        """The first in-place write to an argument or to a name bound to part of one (`W1 = parameters["W1"]`)."""
        node = self.extraction.function_node()
        if node is None:
            return None
        aliases = {argument.arg for argument in node.args.args}
        for statement in sorted((n for n in walk(node) if isinstance(n, ast.stmt)), key=lambda n: n.lineno):
            if isinstance(statement, ast.Assign) and _root_name(statement.value) in aliases:
                aliases.update(n.id for target in statement.targets for n in walk(target) if isinstance(n, ast.Name))
            writes_in_place = (
                isinstance(statement, ast.AugAssign) and _root_name(statement.target) in aliases
                or isinstance(statement, ast.Assign) and any(
                    isinstance(target, ast.Subscript) and _root_name(target) in aliases for target in statement.targets)
                or any(isinstance(call, ast.Call) and any(keyword.arg == "out" and _root_name(keyword.value) in aliases
                                                          for keyword in call.keywords)
                       for call in walk(statement) if not isinstance(statement, (ast.For, ast.If, ast.While)))
            )
            if writes_in_place:
                return self.extraction.locate(statement.lineno)
        return None

    def locate_output(self, name: str) -> Location | None:
        """The statement that computes output `name`: follow the returned dict (or value) to its last assignment."""
        node = self.extraction.function_node()
        if node is None:
            return None
        expression = _returned_expression(node, name, self.exercise.returns == "number")
        statement = _last_assignment(node, expression) if expression is not None else None
        line = statement.lineno if statement is not None else (expression.lineno if expression is not None else None)
        return self.extraction.locate(line) or self.locate_return()


def _returned_expression(function: ast.FunctionDef, name: str, single: bool) -> ast.expr | None:
    """The expression that supplies output `name` in what the function returns."""
    returns = [n for n in walk(function) if isinstance(n, ast.Return) and n.value is not None]
    if not returns:
        return None
    value = returns[-1].value
    if single or value is None:
        return value
    if isinstance(value, ast.Name):
        built = _last_assignment(function, value)
        if not isinstance(built, ast.Assign):
            return _subscript_assignment(function, value, name)
        value = built.value
    if isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values):
            if isinstance(key, ast.Constant) and key.value == name:
                return item
    return None


def _subscript_assignment(function: ast.FunctionDef, container: ast.expr, name: str) -> ast.expr | None:
    """`grads["dW1"] = ...` style: the value assigned to that key."""
    found = None
    for node in walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant)
                        and target.slice.value == name and ast.dump(target.value) == ast.dump(container)):
                    found = node.value
    return found


def _last_assignment(function: ast.FunctionDef, expression: ast.expr | None) -> ast.stmt | None:
    """The last statement assigning the name `expression` is (if it is a bare name)."""
    if not isinstance(expression, ast.Name):
        return None
    last = None
    for node in walk(function):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for target in targets for n in walk(target) if isinstance(n, ast.Name)}
            if expression.id in names and node.lineno < expression.lineno and (last is None or node.lineno > last.lineno):
                last = node
    return last


def _value_of(statement: ast.stmt) -> ast.expr:
    value = getattr(statement, "value", None)
    return value if isinstance(value, ast.expr) else ast.Constant(None)


def _assigns_plainly(statement: ast.Assign | ast.AugAssign | ast.AnnAssign, variable: str) -> bool:
    """`variable = ...` or `variable op= ...` (not as one name among a tuple unpacked from elsewhere)."""
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    return any(isinstance(target, ast.Name) and target.id == variable for target in targets)


def _depends_on(function: ast.FunctionDef, statement: ast.stmt, names: set[str], depth: int = 3) -> bool:
    """Whether a statement's value reads one of `names`, directly or through a few local variables."""
    reads = {n.id for n in walk(_value_of(statement)) if isinstance(n, ast.Name)}
    if reads & names:
        return True
    if depth == 0:
        return False
    for variable in reads:
        helper = _last_assignment(function, ast.Name(id=variable, ctx=ast.Load(), lineno=statement.lineno))
        if helper is not None and _depends_on(function, helper, names, depth - 1):
            return True
    return False


def _root_name(expression: ast.expr) -> str | None:
    """`W1` for `W1`, `W1[0]`, `W1.T` or `cache[2]`; None for anything computed."""
    while isinstance(expression, (ast.Subscript, ast.Attribute, ast.Starred)):
        expression = expression.value
    if isinstance(expression, ast.Tuple):
        return None
    return expression.id if isinstance(expression, ast.Name) else None


def _fill(text: str, values: Mapping[str, str]) -> str:
    """Fill `{name}` placeholders that have values; leave other braces (e.g. math) alone."""
    return re.sub(r"\{(\w+)\}", lambda match: str(values.get(match.group(1), match.group(0))), text)
