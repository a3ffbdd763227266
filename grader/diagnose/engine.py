"""Explain what went wrong: turn a run and its trials into findings, each proven by the outputs.

A catalog finding is reported only when its detector explains the student's outputs on every
probe; whatever no detector explains gets a precise generic description with no catalog id.
One finding per cause (grader.diagnose.causes): a mistake that spoils several outputs is reported once,
on the statement that causes it. The student's source is used to *point* at a line, and to tell
apart two mistakes the numbers fit equally well, never as the basis of a verdict.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from grader.assignment.model import Exercise
from grader.checks.draws import judge_draws
from grader.checks.inputs import changed_arguments
from grader.diagnose.causes import find_causes
from grader.diagnose.describe import describe_difference, is_wrong, output_names, turns_non_finite, wrong_at_baseline
from grader.diagnose.prose import FindingWriter
from grader.records import Detection, Extraction, Finding, RunOutcome, Trial


def run_detectors(exercise: Exercise, trials: Sequence[Trial],
                  failures: list[str] | None = None) -> dict[str, list[Detection]]:
    """What each of the exercise's detectors finds, by mistake id, in spec order (from the numbers alone).

    A detector that raises on outputs its author did not foresee finds nothing: the submission is
    still graded, and what failed is appended to `failures` (the grader says so in a note).
    """
    found: dict[str, list[Detection]] = {}
    for mistake_id, detector in exercise.detectors.items():
        try:
            found[mistake_id] = detector(exercise, trials)
        except Exception as error:  # noqa: BLE001 - an assignment's bug must not cost the student their grade
            found[mistake_id] = []
            if failures is not None:
                failures.append(f"{mistake_id}: {type(error).__name__}: {error}")
    return found


def diagnose(exercise: Exercise, extraction: Extraction, run: RunOutcome | None, trials: Sequence[Trial],
             detections: Callable[[], Mapping[str, Sequence[Detection]]] | None = None) -> tuple[Finding, ...]:
    """All findings for one exercise, most fundamental first.

    `detections` returns what run_detectors would (the grader keeps it for runs it reuses).
    """
    writer = FindingWriter(exercise, extraction)
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
        # Nothing usable came back: the outputs cannot be judged, only the failure reported, unless the catalogue
        # knows the error itself (one a library version raises, say).
        explained = _explained_errors(exercise, trials, writer, detections) if not findings and errors else []
        return tuple(findings + (explained or [finding for finding in (error_finding,) if finding])
                     + [finding for finding in (mutation,) if finding])
    explanations, errors_explained = _explain_outputs(exercise, trials, writer, detections)
    if error_finding is not None and not errors_explained:
        findings.append(error_finding)
    findings.extend(explanations)
    if mutation is not None:
        findings.append(mutation)
    return _one_per_cause(exercise, findings)


def _explained_errors(exercise: Exercise, trials: Sequence[Trial], writer: FindingWriter,
                      detections: Callable[[], Mapping[str, Sequence[Detection]]] | None) -> list[Finding]:
    """Findings for catalogue mistakes that account for the calls that raised, when every call did."""
    found = detections() if detections is not None else run_detectors(exercise, trials)
    causes = [cause for cause in find_causes(found, exercise.ancestors)
              if any(detection.explains_errors for _, detection in cause.candidates)]
    return [writer.cause(cause) for cause in causes]


def _mutation(exercise: Exercise, trials: Sequence[Trial], writer: FindingWriter) -> Finding | None:
    for trial in trials:
        if trial.outcome is not None:
            changed = changed_arguments(exercise, trial.probe.arguments, trial.outcome.arguments_after)
            if changed:
                names = " and ".join(changed)
                evidence = (f"after the call, {names} no longer equal{'s' if len(changed) == 1 else ''} "
                            f"what was passed in (on '{trial.label}')")
                return writer.mutation(changed, evidence)
    return None


def _explain_outputs(exercise: Exercise, trials: Sequence[Trial], writer: FindingWriter,
                     detections: Callable[[], Mapping[str, Sequence[Detection]]] | None) -> tuple[list[Finding], bool]:
    """Findings for wrong outputs, and whether a detection also explains the calls that raised."""
    findings: list[Finding] = []
    raised = any(trial.outcome is not None and trial.outcome.error for trial in trials)
    wrong = [name for name in output_names(trials) if is_wrong(exercise, trials, name)]
    # Draws are judged on their own (the outputs are expected given them): a draw gone wrong is a wrong output.
    bad_draws = judge_draws(exercise, trials).problems if exercise.student_draws is not None else {}
    wrong = [name for name in output_names(trials) if name in wrong or name in bad_draws]
    # A value returned in another form (a number as a (1, 1) array) is right, with a note; the catalogue may know
    # the mistake behind the form.
    noted = any(trial.got is not None and trial.got.note for trial in trials)
    if not raised and not wrong and not noted:
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
        evidence = bad_draws.get(name) or describe_difference(exercise, trials, name)
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
