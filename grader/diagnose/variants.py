"""Mistake variants: wrong implementations of a graded function, each making one catalog mistake.

An assignment writes them next to its reference (`variants: [mistakes.py]` in the spec) and marks
each with the mistake it makes:

    @variant("ridge.no-average", points_at=("grad",))
    def forgets_the_average(X, y, w, alpha): ...

A variant is called like the reference (the probe's arguments, and the functions the exercise
replaces as keyword arguments). It serves twice: as the detector of its mistake (a student whose
outputs are the variant's on every probe, where the variant differs from the reference, made that
mistake: grader.diagnose.engine runs it like any detector), and for `grade check-spec`, which runs
every variant on the probes to show which mistakes the probes can tell apart.
"""
from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.checks.outputs import close, split_outputs
from grader.errors import SpecError
from grader.records import Detection, Outputs

if TYPE_CHECKING:
    from grader.assignment.model import Exercise, Probe
    from grader.records import Trial

Variant = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class VariantMark:
    """What `@variant` records on a function."""

    mistake_id: str
    function: str | None
    """The graded function it is a variant of; None: the exercise whose `mistakes` list the id."""
    points_at: tuple[str, ...]
    """Variables whose assignments hold the mistake in a student's code (the finding quotes those lines)."""


def variant(mistake_id: str, *, function: str | None = None, points_at: Sequence[str] = ()) -> Callable[[Variant],
                                                                                                        Variant]:
    """Mark a wrong implementation as making the catalog mistake `mistake_id`.

    Args:
        mistake_id: The catalog id (its prose is in the spec's `mistakes:`).
        function: The graded function it is a variant of, when several exercises list the id.
        points_at: Variable names (a student's usual spellings) whose assignments the finding quotes.
    """
    def mark(implementation: Variant) -> Variant:
        implementation.variant_mark = VariantMark(mistake_id, function, tuple(points_at))  # type: ignore[attr-defined]
        return implementation

    return mark


def mark_of(implementation: Variant) -> VariantMark:
    """The `@variant` mark of a collected variant."""
    mark = getattr(implementation, "variant_mark", None)
    assert isinstance(mark, VariantMark)
    return mark


def collect_variants(module: ModuleType) -> list[Variant]:
    """The variants a module defines, in the order they are written."""
    return [value for value in vars(module).values()
            if callable(value) and isinstance(getattr(value, "variant_mark", None), VariantMark)]


@dataclass(frozen=True, slots=True)
class VariantOutcome:
    """What a variant (or the reference) gives for one call: outputs, or the error it raised."""

    outputs: Outputs | None
    error: tuple[str, str] | None = None
    """(exception type, message) when it raised."""


# Variants are instructor code and depend only on the probe: run once per process.
_OUTCOMES: dict[tuple[Variant, str, bool], VariantOutcome] = {}


def variant_outcome(exercise: Exercise, implementation: Variant, probe: Probe, baseline: bool) -> VariantOutcome:
    """Run a variant on a probe's arguments (`baseline`: its baseline arguments), like the reference."""
    key = (implementation, probe.name, baseline)
    if key not in _OUTCOMES:
        arguments = exercise.baseline_arguments(probe) if baseline else probe.arguments
        assert arguments is not None
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                returned = implementation(*copy.deepcopy(arguments), **probe.replacements)
        except Exception as error:  # a variant may make the very error it stands for
            _OUTCOMES[key] = VariantOutcome(None, (type(error).__name__, str(error)))
        else:
            _OUTCOMES[key] = VariantOutcome(split_outputs(exercise, returned))
    return _OUTCOMES[key]


def variant_detector(mistake_id: str, implementations: Sequence[Variant]) -> Callable[..., list[Detection]]:
    """A detector of `mistake_id`: the first of its variants whose outputs the student's are on every probe."""

    def detect(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
        for implementation in implementations:
            detection = match(exercise, trials, implementation)
            if detection is not None:
                return [detection]
        return []

    detect.mistake_id = mistake_id  # type: ignore[attr-defined]
    detect.from_variants = True  # type: ignore[attr-defined]
    return detect


_Call = tuple["Trial", str, "Outputs | None", Mapping[str, np.ndarray], "VariantOutcome", "Any"]
"""(trial, what was run, the student's outputs, the reference's, the variant's, the student's call)."""


def _calls(exercise: Exercise, trials: Sequence[Trial], implementation: Variant) -> list[_Call]:
    calls: list[_Call] = []
    for trial in trials:
        calls.append((trial, trial.label, trial.got, trial.expected,
                      variant_outcome(exercise, implementation, trial.probe, False), trial.outcome))
        if trial.baseline_expected is not None:
            # The baseline call's outcome is not kept on the trial: its outputs are enough here.
            calls.append((trial, trial.baseline_label, trial.baseline_got, trial.baseline_expected,
                          variant_outcome(exercise, implementation, trial.probe, True), None))
    return calls


def changed_outputs(exercise: Exercise, expected: Sequence[Mapping[str, np.ndarray]],
                    outcomes: Sequence[VariantOutcome]) -> tuple[str, ...]:
    """The outputs a variant changes on some call (all of them when it raises or returns the wrong kind)."""
    changed = set()
    for right, outcome in zip(expected, outcomes):
        # A reference returns plain values: a variant returning them in another form (a note) changes them all.
        plain = outcome.outputs is not None and not outcome.outputs.problem and not outcome.outputs.note
        values = outcome.outputs.values if plain and outcome.outputs is not None else None
        for name in exercise.keys:
            if values is None or name not in values or not close(values[name], right[name], exercise.tolerance):
                changed.add(name)
    return tuple(name for name in exercise.keys if name in changed)


def match(exercise: Exercise, trials: Sequence[Trial], implementation: Variant) -> Detection | None:
    """The detection when the student's outputs are the variant's wherever it differs from the reference."""
    calls = _calls(exercise, trials, implementation)
    changed = changed_outputs(exercise, [expected for _, _, _, expected, _, _ in calls],
                              [outcome for *_, outcome, _ in calls])
    if not calls or not changed:
        return None
    raised_line = None
    for _, _, got, _, outcome, student_call in calls:
        if outcome.error is not None:
            if student_call is None:  # a baseline call: only its outputs are kept, so "raised" is all there is
                if got is not None:
                    return None
                continue
            error = student_call.error
            if error is None or (error.type_name, error.message) != outcome.error:
                return None
            raised_line = raised_line or error.line
        elif not _same_outputs(exercise, got, outcome.outputs, changed):
            return None
    mark = mark_of(implementation)
    return Detection(changed, _evidence(calls, changed), part="whole", explains_errors=raised_line is not None,
                     points_at=mark.points_at, line=raised_line)


def _same_outputs(exercise: Exercise, got: Outputs | None, variant_outputs: Outputs | None,
                  changed: Sequence[str]) -> bool:
    """Whether the student's outputs are the variant's on the outputs it changes (or it is the same wrong kind)."""
    assert variant_outputs is not None  # the variant returned
    if variant_outputs.problem:
        return got is not None and got.problem == variant_outputs.problem
    if got is None or got.problem or variant_outputs.note and got.note != variant_outputs.note:
        return False
    for name in changed:
        if name not in variant_outputs.values:  # the variant leaves it out
            if name in got.values:
                return False
        elif name not in got.values or not close(got.values[name], variant_outputs.values[name], exercise.tolerance):
            return False
    return True


def _evidence(calls: Sequence[_Call], changed: Sequence[str]) -> str:
    errors = [outcome.error for *_, outcome, _ in calls if outcome.error is not None]
    if errors:
        kind, message = errors[0]
        return f"{kind}: {message} (on {len(errors)} of {len(calls)} calls), as this mistake raises"
    notes = [outcome.outputs.note for *_, outcome, _ in calls if outcome.outputs is not None and outcome.outputs.note]
    if notes:
        return f"on all {len(calls)} calls your function {notes[0].split(';')[0]}, as this mistake does"
    name = changed[0]
    which = ", ".join(changed)
    shown_calls = [(label, got.values[name], expected[name]) for _, label, got, expected, _, _ in calls
                   if got is not None and name in got.values]
    if not shown_calls:
        return f"on all {len(calls)} calls your function returns what this mistake returns"
    # The call where the mistake shows most: the student's value furthest from the right one.
    label, value, right = max(shown_calls, key=lambda call: _distance(call[1], call[2]))
    if value.shape != right.shape:
        shown = f"shape {value.shape} where the right one is {right.shape}"
    elif value.size == 1:
        shown = f"{float(value.reshape(())):.6g} where the right value is {float(right.reshape(())):.3g}"
    else:
        shown = f"entries up to {float(np.max(np.abs(value - right))):.3g} from the right ones"
    return f"on all {len(calls)} calls your {which} {'is' if len(changed) == 1 else 'are'} exactly what this " \
           f"mistake gives: e.g. {shown} on '{label}'"


def _distance(value: np.ndarray, right: np.ndarray) -> float:
    if value.shape != right.shape:
        return float("inf")
    distance = float(np.max(np.abs(value - right), initial=0.0))
    return distance if np.isfinite(distance) else float("inf")


def assign_variants(implementations: Sequence[Variant], listed: Mapping[str, Sequence[str]], where: str
                    ) -> dict[str, dict[str, tuple[Variant, ...]]]:
    """Graded function → mistake id → its variants, from each variant's mark and the ids each exercise lists.

    Raises:
        SpecError: A variant of an id no exercise lists, of a function that is not graded, or of an id several
            exercises list without saying which function it is a variant of.
    """
    assigned: dict[str, dict[str, tuple[Variant, ...]]] = {function: {} for function in listed}
    for implementation in implementations:
        mark = mark_of(implementation)
        name = f"{implementation.__name__} ({mark.mistake_id})"
        owners = [function for function, ids in listed.items() if mark.mistake_id in ids]
        if mark.function is not None:
            if mark.function not in listed:
                raise SpecError(f"variant {name} is of {mark.function!r}, which is not graded", path=where,
                                key="variants")
            owners = [mark.function]
        if not owners:
            raise SpecError(f"variant {name}: no exercise lists {mark.mistake_id!r} in its mistakes", path=where,
                            key="variants")
        if len(owners) > 1:
            raise SpecError(f"variant {name}: several exercises list the id; say which with "
                            "@variant(..., function=...)", path=where, key="variants")
        by_id = assigned[owners[0]]
        by_id[mark.mistake_id] = (*by_id.get(mark.mistake_id, ()), implementation)
    return assigned
