"""The grading pipeline, wired: load → extract → run (isolated) → check → diagnose → score.

`Grader` owns one warm sandbox worker and one loaded assignment. It starts the worker
*before* loading the assignment, so the process that forks student children never holds
reference code.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.assignment.catalog import Choice, Definitions, find_assignment
from grader.assignment.loader import load_assignment
from grader.assignment.model import Exercise, Probe
from grader.checks import CheckContext, run_check
from grader.checks.outputs import expected_outputs, split_outputs
from grader.diagnose import diagnose, run_detectors
from grader.diagnose.compare import with_comparisons
from grader.extract import extract_functions
from grader.extract.served import serving
from grader.load import load_submission
from grader.records import (
    Detection,
    ExerciseResult,
    Extraction,
    Job,
    Limits,
    Outputs,
    RunOutcome,
    Submission,
    SubmissionResult,
    Trial,
)
from grader.runcache import RunCache, RunKey, run_key
from grader.sandbox import Submitted, Worker
from grader.scoring import NO_GRADED_FUNCTION, exercise_score, exercise_status, not_run, submission_grade

SUBMISSION_FILENAME = "<submission>"
REPLACEMENTS_MODULE = "_provided_replacements"
"""The name the provided helpers are also served under, for the functions an exercise replaces (never imported by
students: a name no course module has)."""
_NAMES_SHOWN = 8  # of the functions a notebook defines, when it defines none of the assignment's
_NAME_CHARS = 60


@dataclass(frozen=True, slots=True)
class _ReferenceProbe:
    """A probe with the reference's answers, computed once per assignment."""

    probe: Probe
    expected: dict
    baseline_arguments: tuple[Any, ...] | None
    baseline_expected: dict | None


@dataclass(slots=True)
class Started:
    """A submission read, its functions extracted, their runs reused or on their way (see Grader.start)."""

    submission: Submission
    extractions: tuple[Extraction, ...]  # one per exercise, in the spec's order
    found: list[tuple[Exercise, Extraction]]  # the exercises whose function was found
    keys: list[RunKey | None]  # per found function
    outcomes: list[RunOutcome | None]  # per found function: a reused run, or None when it is in `submitted`
    submitted: Submitted | None  # the runs left, in the sandbox


class Grader:
    """Grades submissions against one assignment, running student code in a warm sandbox worker."""

    def __init__(self, assignment: str | Path | None = None, limits: Limits = Limits(),
                 definitions: Definitions | None = None, strict_rng: bool | None = None) -> None:
        """Start the worker, then load the assignment: by name or folder, or the one whose functions a submission
        defines (`definitions` gives them, name → fewest and most positional arguments: see
        grader.extract.defined_functions)."""
        self.limits = limits
        self.worker = Worker.start(limits)  # before any reference code is loaded: see the module docstring
        self._runs = RunCache()
        try:
            self.choice: Choice = find_assignment(str(assignment) if assignment is not None else None, definitions)
            self.assignment = load_assignment(self.choice.folder)
            # Judged on the reference's own random draws (seed-exact), or on each student's (see Draws).
            self.strict_rng = self.assignment.strict_rng if strict_rng is None else strict_rng
            self._references = {exercise.function: _reference_probes(exercise)
                                for exercise in self.assignment.exercises}
            # Each probe, then its baseline variant when it has one: the same calls for every submission.
            self._calls = {function: tuple(arguments for reference in references
                                           for arguments in (reference.probe.arguments, reference.baseline_arguments)
                                           if arguments is not None)
                           for function, references in self._references.items()}
            self._bindings = {function: _bindings(references) for function, references in self._references.items()}
            # The worker probed its layers meanwhile: one that could not start fails here, once, saying why.
            self.worker.layers
        except BaseException:
            self.worker.close()
            raise

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(now=exc_info[0] is not None)  # interrupted or failing: stop the student's code at once

    def close(self, now: bool = False) -> None:
        """Stop the worker (with `now`, at once: the grader was interrupted)."""
        self.worker.close(now)

    def grade(self, path: str | Path) -> SubmissionResult:
        """Grade one submission file; a broken submission is a result, never an exception."""
        return self.finish(self.start(path))

    def start(self, path: str | Path) -> Started:
        """Read and extract a submission, and send its functions to the sandbox without waiting.

        While its child runs, the caller may start the next submission; `finish` them in order.
        """
        submission = load_submission(path)
        if submission.problem is not None:
            return Started(submission, (), [], [], [], None)
        exercises = self.assignment.exercises
        extractions = extract_functions(submission, [exercise.function for exercise in exercises])
        found = [(exercise, extraction) for exercise, extraction in zip(exercises, extractions) if extraction.found]
        jobs = [self._job(exercise, extraction) for exercise, extraction in found]
        keys = [run_key(job, extraction.module_tree()) for job, (_, extraction) in zip(jobs, found)]
        # Runs of code this grader has seen come back are reused (grader.runcache); one child runs
        # every function left (see Worker.run_all): a child per function would double the cost.
        outcomes = [self._runs.get(key) if key is not None else None for key in keys]
        submitted = self.worker.submit([job for job, outcome in zip(jobs, outcomes) if outcome is None])
        return Started(submission, extractions, found, keys, outcomes, submitted)

    def finish(self, started: Started) -> SubmissionResult:
        """Collect a started submission's runs, check, diagnose and score it."""
        assignment, submission = self.assignment, started.submission
        total = sum(exercise.points for exercise in assignment.exercises)
        if submission.problem is not None:
            exercises = tuple(not_run(exercise, "error", submission.problem, ()) for exercise in assignment.exercises)
            return SubmissionResult(submission.path, submission.sha256, assignment.name, assignment.title, 0.0, total,
                                    "error", exercises, (("unreadable", submission.problem),),
                                    self.worker.layers_in_force, self.worker.sandbox_user)
        fresh = iter(self.worker.collect(started.submitted) if started.submitted is not None else ())
        runs = {}
        for (exercise, _), key, reused in zip(started.found, started.keys, started.outcomes):
            outcome = reused if reused is not None else next(fresh)
            if reused is None and key is not None:
                self._runs.put(key, outcome)
            runs[exercise.function] = (outcome, self._runs.derived(key) if key is not None else {})
        exercises = tuple(
            self._grade_exercise(exercise, extraction, runs.get(exercise.function))
            for exercise, extraction in zip(assignment.exercises, started.extractions)
        )
        defined = any(extraction.definition_count for extraction in started.extractions)
        score, status = submission_grade(exercises, defined)
        errors: tuple[tuple[str, str], ...] = ()
        if not defined:
            # Not one mistake per function but one fact about the notebook: most likely another assignment's.
            errors = ((NO_GRADED_FUNCTION, _no_graded_function(assignment.name, assignment.exercises,
                                                               started.extractions[0].notebook_functions)),)
        return SubmissionResult(submission.path, submission.sha256, assignment.name, assignment.title, score, total,
                                status, exercises, errors, sandbox=self.worker.layers_in_force,
                                sandbox_user=self.worker.sandbox_user)

    def _job(self, exercise: Exercise, extraction: Extraction) -> Job:
        served = dict.fromkeys(serving(self.assignment, extraction).modules, self.assignment.helper_source)
        if exercise.replaces:
            served[REPLACEMENTS_MODULE] = self.assignment.helper_source
        return Job(
            source=extraction.source,
            filename=SUBMISSION_FILENAME,
            function=exercise.function,
            calls=self._calls[exercise.function],
            served_modules=served,
            calls_key=f"{self.assignment.fingerprint}:{exercise.function}",
            bindings=self._bindings[exercise.function],
        )

    def _grade_exercise(self, exercise: Exercise, extraction: Extraction,
                        ran: tuple[RunOutcome, dict[str, Any]] | None) -> ExerciseResult:
        if ran is None:
            findings = diagnose(exercise, extraction, None, ())
            if extraction.syntax_error:
                return not_run(exercise, "error", "the cell does not parse", findings)
            return not_run(exercise, "missing", "function not found", findings)
        run, derived = ran
        references = self._references[exercise.function]
        trials = _trials(exercise, references, run, self.strict_rng)
        stopped = _stopped_reason(run, trials)

        def detections() -> dict[str, list[Detection]]:
            if "detections" not in derived:
                derived["detections"] = run_detectors(exercise, trials, derived.setdefault("detector_failures", []))
            return derived["detections"]

        # Student outputs may hold NaN or infinities: comparing them is expected, warning about it is noise.
        with np.errstate(all="ignore"):
            if "checks" not in derived:  # the same for every submission with this run
                derived["checks"] = tuple(run_check(CheckContext(exercise, spec, trials, self.assignment, stopped))
                                          for spec in exercise.checks)
            checks = derived["checks"]
            # The wrong arrays go with the findings, for the pictures of the notebook and HTML feedback.
            findings = with_comparisons(exercise, diagnose(exercise, extraction, run, trials, detections), trials)
        return ExerciseResult(
            function=exercise.function,
            title=exercise.title,
            score=exercise_score(checks),
            max_score=exercise.points,
            status=exercise_status(checks, trials),
            checks=checks,
            findings=findings,
            notes=_notes(exercise, extraction, trials, self.strict_rng) + serving(self.assignment, extraction).notes
            + _failure_notes(derived.get("detector_failures", ())),
        )


def _reference_probes(exercise: Exercise) -> tuple[_ReferenceProbe, ...]:
    def answer(probe: Probe, arguments: tuple[Any, ...]) -> dict:
        # A copy, so a reference that modifies its inputs cannot change the probes students receive.
        return expected_outputs(exercise, exercise.call_reference(probe, copy.deepcopy(arguments)))

    references = []
    for probe in exercise.probes:
        baseline = exercise.baseline_arguments(probe)
        references.append(_ReferenceProbe(probe, answer(probe, probe.arguments), baseline,
                                          answer(probe, baseline) if baseline is not None else None))
    return tuple(references)


def _bindings(references: Sequence[_ReferenceProbe]) -> tuple[dict[str, str], ...]:
    """The functions an exercise replaces, bound call by call (as in Grader._calls) to the helpers each probe chose."""
    if not any(reference.probe.replacements for reference in references):
        return ()
    return tuple({name: f"{REPLACEMENTS_MODULE}.{helper.__name__}"
                  for name, helper in reference.probe.replacements.items()}
                 for reference in references
                 for arguments in (reference.probe.arguments, reference.baseline_arguments) if arguments is not None)


def _trials(exercise: Exercise, references: Sequence[_ReferenceProbe], run: RunOutcome,
            strict_rng: bool) -> tuple[Trial, ...]:
    outcomes = iter(run.calls)

    def returned(outcome) -> Outputs | None:
        return None if outcome is None or outcome.error is not None else split_outputs(exercise, outcome.returned)

    trials = []
    for reference in references:
        outcome = next(outcomes, None)
        baseline = next(outcomes, None) if reference.baseline_arguments is not None else None
        probe = reference.probe
        got, baseline_got = returned(outcome), returned(baseline)
        expected, baseline_expected = reference.expected, reference.baseline_expected
        if exercise.student_draws is not None and not strict_rng:
            expected = _given_draws(exercise, probe.arguments, expected, got)
            substituted = reference.baseline_arguments
            if substituted is not None and baseline_expected is not None:
                baseline_expected = _given_draws(exercise, substituted, baseline_expected, baseline_got)
        trials.append(Trial(probe, expected, outcome, got, baseline_expected, baseline_got,
                            exercise.call_label(probe, probe.arguments),
                            exercise.call_label(probe, reference.baseline_arguments or probe.arguments),
                            reference.baseline_arguments))
    return tuple(trials)


def _given_draws(exercise: Exercise, arguments: tuple[Any, ...], seeded: dict, got: Outputs | None) -> dict:
    """The reference's outputs for a call given the student's own draws, when they can be used (else `seeded`)."""
    draws = exercise.student_draws
    assert draws is not None
    if got is None or got.problem:
        return seeded
    # One draw per row, say: the student's code broadcast it, and so does the reference. A draw missing or
    # of another shape (the draws check says so) is replaced by the reference's own, so that the student's
    # other draws are still theirs: a right one is not blamed for it.
    own = {name: _broadcast(got.values.get(name), seeded[name].shape) for name in draws.outputs}
    if all(draw is None for draw in own.values()):
        return seeded
    values = [seeded[name] if draw is None else draw for name, draw in own.items()]
    try:
        with np.errstate(all="ignore"):
            return expected_outputs(exercise, draws.reference(*copy.deepcopy(arguments), *values))
    except Exception:  # noqa: BLE001 - draws the reference cannot use are the draws check's to report
        return seeded


def _broadcast(value: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    try:
        return None if value is None else np.broadcast_to(value, shape)
    except ValueError:
        return None


def _stopped_reason(run: RunOutcome, trials: Sequence[Trial]) -> str | None:
    """Why no check can judge anything (the function never returned a usable value), or None."""
    if any(trial.returned for trial in trials):
        return None
    if run.failure is not None and not any(trial.outcome for trial in trials):
        return run.failure.message
    errors = [trial.outcome.error for trial in trials if trial.outcome is not None and trial.outcome.error]
    if errors:
        return f"the function raised {errors[0].type_name} on every probe"
    return "the function never returned a value of the expected kind"


def _failure_notes(failures: Sequence[str]) -> tuple[str, ...]:
    if not failures:
        return ()
    return (f"A mistake detector failed on these outputs ({'; '.join(failures)}), so the findings may name "
            "fewer mistakes than there are; the points do not depend on it. This is a bug in the grader: "
            "please report it with this notebook.",)


def _notes(exercise: Exercise, extraction: Extraction, trials: Sequence[Trial], strict_rng: bool) -> tuple[str, ...]:
    notes = []
    if extraction.definition_count > 1 and extraction.definition is not None:
        where = extraction.definition
        cell = f"code cell {where.code_cell}" if where.code_cell is not None else f"line {where.line}"
        notes.append(f"{extraction.function} is defined {extraction.definition_count} times; the last definition "
                     f"({cell}) was graded.")
    if exercise.student_draws is not None and strict_rng:
        notes.append("Compared seed-exact with the course's own outputs (the same seed, the same random calls in the "
                     "same order), as --strict-rng asks: a valid but different way of drawing them is marked wrong.")
    returned_notes = {trial.got.note for trial in trials if trial.got is not None and trial.got.note}
    notes.extend(sorted(returned_notes))
    return tuple(notes)


def _no_graded_function(name: str, exercises: Sequence[Exercise], defined: Sequence[str]) -> str:
    shown = [function if len(function) <= _NAME_CHARS else function[: _NAME_CHARS - 1] + "…"
             for function in defined[:_NAMES_SHOWN]]
    if len(defined) > _NAMES_SHOWN:
        shown.append(f"and {len(defined) - _NAMES_SHOWN} more")
    found = f"found: {', '.join(shown)}" if shown else "it defines no function at all"
    return (f"no function of assignment {name!r} is defined here (it grades "
            f"{', '.join(exercise.function for exercise in exercises)}); {found}")
