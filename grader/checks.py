"""Scored checks: pure functions of the trials (reference vs. student on every probe).

Each check registers itself with the options it accepts, so a spec naming an unknown check
or option fails when it is loaded, not in the middle of a batch.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.compare import all_close, close
from grader.errors import SpecError
from grader.records import CheckResult, Trial
from grader.sandbox.codec import same_value

if TYPE_CHECKING:
    from grader.spec import Assignment, CheckSpec, Exercise, Probe


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Everything a check may look at."""

    exercise: Exercise
    spec: CheckSpec
    trials: tuple[Trial, ...]
    assignment: Assignment
    stopped: str | None
    """Why the run produced no usable calls at all (timeout, syntax error...), or None."""


CheckFunction = Callable[[CheckContext], tuple[float, str]]
"""Returns (fraction of the points earned, message)."""


@dataclass(frozen=True, slots=True)
class CheckDefinition:
    """A registered check and the options a spec may give it."""

    name: str
    run: CheckFunction
    options: Mapping[str, type | tuple[type, ...]]
    required: tuple[str, ...]

    def validate(self, options: Mapping[str, Any], where: str, key: str) -> None:
        """Raise SpecError for an unknown, mistyped or missing option."""
        for option in self.required:
            if option not in options:
                raise SpecError(f"check {self.name!r} needs option {option!r}", path=where, key=key)
        for option, value in options.items():
            if option not in self.options:
                raise SpecError(f"check {self.name!r} has no option {option!r}", path=where, key=key)
            if not isinstance(value, self.options[option]):
                raise SpecError(f"option {option!r} has the wrong type", path=where, key=key)


CHECKS: dict[str, CheckDefinition] = {}


def check(name: str, required: tuple[str, ...] = (), **options: type | tuple[type, ...]
          ) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under `name` with the options it accepts; a duplicate name fails at import."""

    def register(function: CheckFunction) -> CheckFunction:
        if name in CHECKS:
            raise RuntimeError(f"check {name!r} registered twice")
        CHECKS[name] = CheckDefinition(name, function, options, required)
        return function

    return register


def run_check(context: CheckContext) -> CheckResult:
    """Run one check and scale its score to the spec's points."""
    spec = context.spec
    if context.stopped:
        return CheckResult(spec.title, False, 0.0, spec.points, f"not checked: {context.stopped}")
    fraction, message = CHECKS[spec.kind].run(context)
    score = round(spec.points * fraction, 2)
    return CheckResult(spec.title, fraction >= 1.0, score, spec.points, message)


def _selected_outputs(context: CheckContext) -> tuple[str, ...]:
    chosen = context.spec.options.get("outputs")
    return tuple(chosen) if chosen else tuple(context.trials[0].expected) if context.trials else ()


def _errors_message(trials: Sequence[Trial]) -> str | None:
    failed = [trial for trial in trials if not trial.returned]
    if not failed:
        return None
    first = failed[0]
    reason = (
        first.got.problem if first.got is not None and first.got.problem
        else "raised an exception" if first.outcome is not None and first.outcome.error is not None
        else "did not run"
    )
    return f"{reason} on {len(failed)} of {len(trials)} probes"


_Pair = tuple[Trial, str, Mapping[str, np.ndarray], Mapping[str, np.ndarray]]
"""(trial, what was run, got, expected)."""


def _compare_outputs(context: CheckContext, pairs: Sequence[_Pair]) -> tuple[float, str]:
    """Share of the selected outputs right on every pair (got, expected); a message naming the rest."""
    outputs = _selected_outputs(context)
    if not pairs:
        return 1.0, "no probe applies"
    wrong: dict[str, list[tuple[float, str]]] = {}
    tolerance = context.exercise.tolerance
    # Most outputs are right on every probe: one comparison each; the probes of the others, one by one.
    suspects = [name for name in outputs
                if not all_close(((got.get(name), expected[name]) for _, _, got, expected in pairs), tolerance)]
    for _, label, got, expected in pairs:
        for name in suspects:
            value = got.get(name)
            if value is None or not close(value, expected[name], context.exercise.tolerance):
                error = (
                    float(np.max(np.abs(value - expected[name])))
                    if value is not None and value.shape == expected[name].shape else float("inf")
                )
                wrong.setdefault(name, []).append((error, label))
    if not wrong:
        verb = "matches" if len(outputs) == 1 else "match"
        return 1.0, f"{', '.join(outputs)} {verb} the reference on all {len(pairs)} probes"
    parts = []
    for name in outputs:
        if name in wrong:
            largest, where = max(wrong[name], key=lambda item: item[0] if np.isfinite(item[0]) else 1e300)
            size = "wrong shape or missing" if not np.isfinite(largest) else f"largest difference {largest:.3g}"
            parts.append(f"{name} differs on {len(wrong[name])} of {len(pairs)} probes ({size}, e.g. on '{where}')")
    return 1.0 - len(wrong) / len(outputs), "; ".join(parts)


@check("returns")
def _returns(context: CheckContext) -> tuple[float, str]:
    """The function returns the right kind of value, with every expected key, in the right shapes."""
    trials = context.trials
    problem = _errors_message(trials)
    if problem:
        return 0.0, problem
    for trial in trials:
        assert trial.got is not None
        if trial.got.missing or trial.got.unknown:
            parts = []
            if trial.got.missing:
                parts.append(f"missing keys {', '.join(trial.got.missing)}")
            if trial.got.unknown:
                parts.append(f"unexpected keys {', '.join(trial.got.unknown)}")
            return 0.0, "; ".join(parts)
        for name, expected in trial.expected.items():
            kind = trial.got.kinds.get(name, "f")
            if kind not in "fiu":  # an integer array can hold a right value; booleans cannot be gradients
                return 0.0, f"{name} is an array of {np.dtype(kind + '1').name if kind == 'b' else kind}, not numbers"
            if trial.got.values[name].shape != expected.shape:
                return 0.0, (f"{name} has shape {trial.got.values[name].shape}, expected {expected.shape} "
                             f"(on '{trial.label}')")
    return 1.0, f"returns what is expected on all {len(trials)} probes"


@check("values", outputs=list)
def _values(context: CheckContext) -> tuple[float, str]:
    """Every selected output matches the reference on every probe."""
    problem = _errors_message(context.trials)
    if problem:
        return 0.0, problem
    pairs = [(trial, trial.label, trial.got.values, trial.expected) for trial in context.trials if trial.got]
    return _compare_outputs(context, pairs)


@check("baseline-values", outputs=list)
def _baseline_values(context: CheckContext) -> tuple[float, str]:
    """The outputs with the baseline arguments (e.g. λ = 0) match the reference's."""
    pairs = []
    for trial in context.trials:
        got, expected, label = (
            (trial.baseline_got, trial.baseline_expected, trial.baseline_label) if trial.baseline_expected is not None
            else (trial.got, trial.expected, trial.label)
        )
        if got is None or got.problem:
            return 0.0, _errors_message(context.trials) or "did not return a value with the baseline arguments"
        pairs.append((trial, label, got.values, expected))
    return _compare_outputs(context, pairs)


@check("added-term-values", outputs=list, parts=str)
def _added_term_values(context: CheckContext) -> tuple[float, str]:
    """What the non-baseline arguments add (output − baseline output) matches the reference's.

    With `parts` (a `file.py:function` giving the correct term as named parts, e.g. one per layer),
    a single wrong output whose term is exactly some of the parts on every probe earns their share.
    """
    pairs = []
    for trial in context.trials:
        if trial.baseline_expected is None:
            continue
        if not trial.returned or trial.baseline_got is None or trial.baseline_got.problem:
            return 0.0, _errors_message(context.trials) or "did not return a value on every probe"
        assert trial.got is not None
        got = {
            name: trial.got.values[name] - trial.baseline_got.values[name]
            for name in trial.got.values
            if name in trial.baseline_got.values and trial.got.values[name].shape == trial.baseline_got.values[name].shape
        }
        expected = {name: trial.expected[name] - trial.baseline_expected[name] for name in trial.expected}
        pairs.append((trial, trial.label, got, expected))
    fraction, message = _compare_outputs(context, pairs)
    outputs = _selected_outputs(context)
    if fraction < 1.0 and "parts" in context.spec.options and len(outputs) == 1:
        kept, total = _parts_present(context, pairs, outputs[0])
        if kept:
            fraction = len(kept) / total
            message += f"; it is exactly the part for {', '.join(kept)} ({fraction:.0%} of the term) on every probe"
    return fraction, message


def _parts_present(context: CheckContext, pairs: Sequence[_Pair], output: str) -> tuple[tuple[str, ...], int]:
    """(the largest proper subset of the term's parts the student's term equals on every probe, number of parts)."""
    parts_of = context.assignment.resolve(context.spec.options["parts"])
    tables = []
    for trial, _, got, _ in pairs:
        value = got.get(output)
        if value is None or value.size != 1:
            return (), 0
        tables.append((value, parts_of(*trial.probe.arguments)))
    names = list(tables[0][1]) if tables else []
    for size in range(len(names) - 1, 0, -1):
        for subset in itertools.combinations(names, size):
            if all(close(value.reshape(()), np.asarray(sum(parts[name] for name in subset)), context.exercise.tolerance)
                   for value, parts in tables):
                return subset, len(names)
    return (), len(names)


@check("gradient", required=("cost",), cost=str, epsilon=float, threshold=float, max_probes=int)
def _gradient(context: CheckContext) -> tuple[float, str]:
    """Each returned gradient agrees with central differences of the reference cost."""
    options = context.spec.options
    threshold = options.get("threshold", 1e-6)
    problem = _errors_message(context.trials)
    if problem:
        return 0.0, problem
    worst: dict[str, tuple[float, str]] = {}
    for trial in context.trials[: options.get("max_probes", len(context.trials))]:
        assert trial.got is not None
        for name, numeric in _numerical_gradients(context, trial.probe).items():
            difference = relative_difference(trial.got.values.get(f"d{name}"), numeric)
            if difference > worst.get(name, (-1.0, ""))[0]:
                worst[name] = (difference, trial.label)
    failing = {name: item for name, item in worst.items() if not item[0] <= threshold}
    if not failing:
        return 1.0, f"every gradient agrees with the numerical gradient (threshold {threshold:g})"
    parts = [f"d{name}: relative difference {difference:.2g} on '{probe}'" for name, (difference, probe) in failing.items()]
    return 1.0 - len(failing) / len(worst), "; ".join(parts)


# The numerical gradients depend only on the probe, not on the student: computed once per process.
_NUMERICAL_GRADIENTS: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}


def _numerical_gradients(context: CheckContext, probe: Probe) -> dict[str, np.ndarray]:
    key = (context.assignment.fingerprint, context.exercise.function, probe.name)
    if key not in _NUMERICAL_GRADIENTS:
        options = context.spec.options
        parameters, cost = context.assignment.resolve(options["cost"])(*probe.arguments)
        epsilon = options.get("epsilon", 1e-6)
        _NUMERICAL_GRADIENTS[key] = {name: numerical_gradient(cost, parameters, name, epsilon) for name in parameters}
    return _NUMERICAL_GRADIENTS[key]


def numerical_gradient(cost: Callable[[dict], float], parameters: Mapping[str, np.ndarray], name: str,
                       epsilon: float) -> np.ndarray:
    """Central differences of `cost` with respect to `parameters[name]`, entry by entry."""
    shifted = {key: np.array(value, dtype=np.float64) for key, value in parameters.items()}
    target = shifted[name]
    gradient = np.zeros_like(target)
    for index in np.ndindex(target.shape):
        original = target[index]
        target[index] = original + epsilon
        plus = cost(shifted)
        target[index] = original - epsilon
        minus = cost(shifted)
        target[index] = original
        gradient[index] = (plus - minus) / (2 * epsilon)
    return gradient


def relative_difference(analytic: np.ndarray | None, numeric: np.ndarray) -> float:
    """‖g − ĝ‖ / (‖g‖ + ‖ĝ‖); infinite when the gradient is missing or misshapen."""
    if analytic is None or analytic.shape != numeric.shape:
        return float("inf")
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if denominator == 0:
        return 0.0
    difference = float(np.linalg.norm(analytic - numeric) / denominator)
    return difference if np.isfinite(difference) else float("inf")


@check("inputs-unchanged")
def _inputs_unchanged(context: CheckContext) -> tuple[float, str]:
    """The function leaves its arguments as it found them."""
    for trial in context.trials:
        if trial.outcome is None:
            continue
        changed = changed_arguments(context.exercise, trial.probe.arguments, trial.outcome.arguments_after)
        if changed:
            return 0.0, f"changes its argument {', '.join(changed)} in place (on '{trial.label}')"
    return 1.0, "leaves its arguments unchanged"


def changed_arguments(exercise: Exercise, before: Sequence[Any], after: Sequence[Any]) -> list[str]:
    """Names of the parameters whose values differ after the call."""
    return [
        name for name, old, new in zip(exercise.parameters, before, after)
        if not same_value(old, new)
    ]
