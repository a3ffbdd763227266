"""Is a spec good enough to grade with? What `grade check-spec` measures, as records.

Loading proves the spec is well-formed (every key known, every `file.py:name` resolved). Adequacy
asks more of it, on its own probes:

- the reference passes every one of its own checks (the gradient check on every probe, not only
  the first few the grader uses);
- every mistake variant (grader.diagnose.variants) gives numbers the reference does not, and
  numbers no variant of another mistake gives: a pair the probes cannot tell apart is a pair of
  findings the grader cannot choose between; a mistake with both a detector and variants must be
  recognised by its detector on its variants' numbers;
- the probes vary what mistakes hide in: square and non-square 2-D arrays (a transpose is silent
  on a square one), several sizes, several values of each hyper-parameter, its neutral value
  among them (λ = 0, keep_prob = 1: see Exercise.hyperparameters).

Pure functions of a loaded assignment and the instructor's code: nothing here runs student code.
"""
from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from grader.assignment.model import Assignment, Exercise, Probe
from grader.checks import CheckContext, run_check
from grader.checks.outputs import close, split_outputs
from grader.diagnose.variants import Variant, VariantOutcome, changed_outputs, variant_outcome
from grader.records import CallOutcome, RaisedError, Trial
from grader.sandbox.codec import same_value


@dataclass(frozen=True, slots=True)
class Verdict:
    """One thing check-spec looked at."""

    subject: str
    """What was looked at (a check's title, "shapes: square 2-D arrays", "ridge.no-average (forgets_the_average)")."""
    passed: bool | None
    """None: does not apply here (e.g. no 2-D array among the arguments)."""
    detail: str


@dataclass(frozen=True, slots=True)
class ExerciseAdequacy:
    """What check-spec found for one exercise."""

    function: str
    probes: int
    reference: tuple[Verdict, ...]
    """The reference against each of its own checks, and whether it leaves its arguments unchanged."""
    variants: tuple[Verdict, ...]
    """Each variant: does it differ from the reference somewhere?"""
    indistinguishable: tuple[tuple[str, str], ...]
    """Pairs of variants of different mistakes that give the same outcome on every call."""
    detectors: tuple[Verdict, ...]
    """Each hand-written detector that also has variants: does it recognise their numbers?"""
    coverage: tuple[Verdict, ...]
    unmeasured: tuple[str, ...]
    """Mistakes with a detector but no variant: the probes' power to reveal them is not measured."""

    @property
    def passed(self) -> bool:
        verdicts = (*self.reference, *self.variants, *self.detectors, *self.coverage)
        return not self.indistinguishable and all(verdict.passed is not False for verdict in verdicts)


@dataclass(frozen=True, slots=True)
class Adequacy:
    """What check-spec found for a whole assignment."""

    name: str
    title: str
    exercises: tuple[ExerciseAdequacy, ...]
    warnings: tuple[str, ...]
    """Prose problems that do not make the spec inadequate (prose no exercise uses, an explanation without a fix)."""

    @property
    def passed(self) -> bool:
        return all(exercise.passed for exercise in self.exercises)


def measure(assignment: Assignment) -> Adequacy:
    """Everything check-spec reports on a loaded assignment."""
    with np.errstate(all="ignore"):
        exercises = tuple(_measure_exercise(assignment, exercise) for exercise in assignment.exercises)
    return Adequacy(assignment.name, assignment.title, exercises, _warnings(assignment))


def _measure_exercise(assignment: Assignment, exercise: Exercise) -> ExerciseAdequacy:
    reference = [_reference_outcome(exercise, probe, baseline) for probe, baseline in _calls(exercise)]
    expected = [outcome.outputs.values for outcome in reference if outcome.outputs is not None]
    named = [(mistake_id, implementation) for mistake_id, implementations in exercise.variants.items()
             for implementation in implementations]
    outcomes = {implementation: [variant_outcome(exercise, implementation, probe, baseline)
                                 for probe, baseline in _calls(exercise)] for _, implementation in named}
    variants = []
    for mistake_id, implementation in named:
        changed = changed_outputs(exercise, expected, outcomes[implementation])
        detail = f"changes {', '.join(changed)}" if changed else "gives the reference's outcome on every call"
        variants.append(Verdict(_label(mistake_id, implementation), bool(changed), detail))
    pairs = tuple((_label(*first), _label(*second)) for first, second in itertools.combinations(named, 2)
                  if first[0] != second[0] and all(_same(exercise, a, b) for a, b in
                                                   zip(outcomes[first[1]], outcomes[second[1]])))
    detectors = tuple(_detector_verdict(exercise, mistake_id, implementation, reference, outcomes[implementation])
                      for mistake_id, implementation in named
                      if not getattr(exercise.detectors[mistake_id], "from_variants", False))
    unmeasured = tuple(mistake_id for mistake_id in exercise.mistakes if mistake_id not in exercise.variants)
    return ExerciseAdequacy(exercise.function, len(exercise.probes),
                            tuple(_reference_verdicts(assignment, exercise, reference)), tuple(variants), pairs,
                            detectors, tuple(_coverage(exercise)), unmeasured)


def _calls(exercise: Exercise) -> Iterator[tuple[Probe, bool]]:
    """Every call the grader makes: each probe, then its baseline variant when it has one."""
    for probe in exercise.probes:
        yield probe, False
        if exercise.baseline_arguments(probe) is not None:
            yield probe, True


def _label(mistake_id: str, implementation: Variant) -> str:
    return f"{mistake_id} ({implementation.__name__})"


@dataclass(frozen=True, slots=True)
class _ReferenceOutcome(VariantOutcome):
    """The reference's outcome, with whether it changed its arguments."""

    returned: Any = None
    arguments_after: tuple[Any, ...] = ()


def _reference_outcome(exercise: Exercise, probe: Probe, baseline: bool) -> _ReferenceOutcome:
    arguments = exercise.baseline_arguments(probe) if baseline else probe.arguments
    assert arguments is not None
    given = copy.deepcopy(arguments)
    try:
        returned = exercise.call_reference(probe, given)
    except Exception as error:  # instructor code: reported, not raised
        return _ReferenceOutcome(None, (type(error).__name__, str(error)))
    after = () if same_value(list(arguments), list(given)) else given
    return _ReferenceOutcome(split_outputs(exercise, returned), None, returned, after)


def _trials(exercise: Exercise, outcomes: Sequence[VariantOutcome],
            expected: Sequence[_ReferenceOutcome]) -> tuple[Trial, ...]:
    """Trials as the grader would make them, with `outcomes` standing for a student's calls."""
    trials = []
    calls = iter(zip(_calls(exercise), outcomes, expected))
    for (probe, _), outcome, right in calls:
        baseline_got = baseline_expected = None
        if exercise.baseline_arguments(probe) is not None:
            _, baseline_outcome, baseline_right = next(calls)
            baseline_got = baseline_outcome.outputs
            baseline_expected = baseline_right.outputs.values if baseline_right.outputs is not None else None
        error = RaisedError(*outcome.error, None, ()) if outcome.error is not None else None
        returned = getattr(outcome, "returned", None)
        call = CallOutcome(returned, getattr(outcome, "arguments_after", ()), error)
        assert right.outputs is not None
        label = exercise.call_label(probe, probe.arguments)
        baseline_arguments = exercise.baseline_arguments(probe) or probe.arguments
        trials.append(Trial(probe, right.outputs.values, call, outcome.outputs, baseline_expected, baseline_got,
                            label, exercise.call_label(probe, baseline_arguments)))
    return tuple(trials)


def _reference_verdicts(assignment: Assignment, exercise: Exercise,
                        reference: Sequence[_ReferenceOutcome]) -> Iterator[Verdict]:
    failed = [outcome for outcome in reference if outcome.outputs is None or outcome.outputs.problem]
    if failed:
        first = failed[0]
        why = f"{first.error[0]}: {first.error[1]}" if first.error else first.outputs.problem if first.outputs else ""
        yield Verdict("returns a value", False, f"fails on {len(failed)} of {len(reference)} calls: {why}")
        return
    trials = _trials(exercise, reference, reference)
    for spec in exercise.checks:
        # The grader may run the gradient check on the first few probes only (for speed); here, on all of them.
        options = {name: value for name, value in spec.options.items() if name != "max_probes"}
        result = run_check(CheckContext(exercise, replace(spec, options=options), trials, assignment, None))
        yield Verdict(spec.title, result.passed, result.message)


def _detector_verdict(exercise: Exercise, mistake_id: str, implementation: Variant,
                      reference: Sequence[_ReferenceOutcome], outcomes: Sequence[VariantOutcome]) -> Verdict:
    trials = _trials(exercise, outcomes, reference)
    found = exercise.detectors[mistake_id](exercise, trials)
    return Verdict(f"detector of {_label(mistake_id, implementation)}", bool(found),
                   "recognises the variant's numbers" if found else "does not recognise the variant's numbers")


def _same(exercise: Exercise, first: VariantOutcome, second: VariantOutcome) -> bool:
    """Whether two outcomes are the same to the grader's tolerance (the same error counts as the same)."""
    if first.error is not None or second.error is not None:
        return first.error == second.error
    if first.outputs is None or second.outputs is None or first.outputs.problem or second.outputs.problem:
        return first.outputs == second.outputs
    a, b = first.outputs.values, second.outputs.values
    return a.keys() == b.keys() and all(close(a[name], b[name], exercise.tolerance) for name in a)


def _arrays(value: Any, path: str = "") -> Iterator[tuple[str, np.ndarray]]:
    """(where, array) for every array in a probe argument, inside dicts, tuples and lists."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _arrays(item, f"{path}[{key!r}]")
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from _arrays(item, f"{path}[{index}]")


def _coverage(exercise: Exercise) -> Iterator[Verdict]:
    probes = exercise.probes
    yield Verdict("probes", len(probes) >= 2, f"{len(probes)} probe{'s' if len(probes) != 1 else ''}")
    arrays = [(f"{exercise.parameters[index]}{path}", array) for probe in probes
              for index, argument in enumerate(probe.arguments) for path, array in _arrays(argument)]
    matrices = [array for _, array in arrays if array.ndim == 2 and min(array.shape) > 1]
    if not matrices:
        yield Verdict("shapes", None, "no 2-D array among the arguments")
    else:
        square = sum(1 for array in matrices if array.shape[0] == array.shape[1])
        yield Verdict("shapes: square 2-D arrays", square > 0, f"{square} of {len(matrices)} 2-D arrays")
        yield Verdict("shapes: non-square 2-D arrays", square < len(matrices),
                      f"{len(matrices) - square} of {len(matrices)} 2-D arrays")
    shapes: dict[str, set[tuple[int, ...]]] = {}
    for where, array in arrays:
        shapes.setdefault(where, set()).add(array.shape)
    if not shapes:
        yield Verdict("sizes", None, "no array among the arguments")
    else:
        varied = sorted(where for where, seen in shapes.items() if len(seen) > 1)
        detail = f"vary in {', '.join(varied[:4])}{' ...' if len(varied) > 4 else ''}" if varied else \
            "every array has the same shape on every probe"
        yield Verdict("sizes", bool(varied), detail)
    for name, neutral in exercise.hyperparameters.items():
        index = exercise.parameters.index(name)
        values = [arguments[index] for probe, baseline in _calls(exercise)
                  for arguments in [exercise.baseline_arguments(probe) if baseline else probe.arguments]
                  if arguments is not None]
        distinct = [_shown(value) for value in sorted(set(values), key=_order)]
        has_neutral = neutral is None or any(_equal(value, neutral) for value in values)
        shown = ", ".join(distinct[:6]) + (" ..." if len(distinct) > 6 else "")
        detail = f"{len(distinct)} value{'s' if len(distinct) != 1 else ''}: {shown}" + (
            "" if neutral is None else f"; neutral {_shown(neutral)} {'tried' if has_neutral else 'never tried'}")
        yield Verdict(f"hyper-parameter {name}", len(distinct) >= 2 and has_neutral, detail)


def _order(value: Any) -> tuple[int, Any]:
    """Numbers by value, anything else after them by its text."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return 0, float(value)
    return 1, repr(value)


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) else repr(value)


def _equal(value: Any, neutral: Any) -> bool:
    try:
        return bool(value == neutral)
    except (TypeError, ValueError):
        return False


def _warnings(assignment: Assignment) -> tuple[str, ...]:
    listed = {mistake_id for exercise in assignment.exercises
              for mistake_id in (*exercise.mistakes, exercise.baseline_mistake) if mistake_id}
    warnings = []
    for exercise in assignment.exercises:
        texts = {**exercise.mistakes, **exercise.general_prose}
        if exercise.baseline_mistake and exercise.baseline_mistake_text is not None:
            texts[exercise.baseline_mistake] = exercise.baseline_mistake_text
        for mistake_id, text in texts.items():
            if not text.fix.strip():
                warnings.append(f"mistakes.{mistake_id}: an explanation without a fix")
            elif text.fix.strip() == text.explanation.strip():
                warnings.append(f"mistakes.{mistake_id}: the fix only repeats the explanation")
    warnings.extend(f"mistakes.{mistake_id}: prose, but no exercise lists it, so no detector ever reports it"
                    for mistake_id in sorted(assignment.prose_ids - listed) if "." in mistake_id)
    return tuple(dict.fromkeys(warnings))
