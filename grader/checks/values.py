"""Checks that compare outputs with the reference's: the kind of value returned, every output, the part
the baseline arguments leave (e.g. λ = 0), and the part the other arguments add."""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from grader.checks.outputs import all_close, close
from grader.checks.registry import CheckContext, Reference, check
from grader.records import Trial


def _selected_outputs(context: CheckContext) -> tuple[str, ...]:
    chosen = context.spec.options.get("outputs")
    return tuple(chosen) if chosen else tuple(context.trials[0].expected) if context.trials else ()


def errors_message(trials: Sequence[Trial]) -> str | None:
    """Why some calls gave nothing to compare ("raised an exception on 3 of 10 probes"), or None."""
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
    problem = errors_message(trials)
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
        draws = set(context.exercise.student_draws.outputs) if context.exercise.student_draws else set()
        for name, expected in trial.expected.items():
            kind = trial.got.kinds.get(name, "f")
            # An integer array can hold a right value; booleans cannot be gradients, but can be a mask drawn.
            if kind not in ("fiub" if name in draws else "fiu"):
                return 0.0, f"{name} is an array of {np.dtype(kind + '1').name if kind == 'b' else kind}, not numbers"
            if trial.got.values[name].shape != expected.shape:
                return 0.0, (f"{name} has shape {trial.got.values[name].shape}, expected {expected.shape} "
                             f"(on '{trial.label}')")
    return 1.0, f"returns what is expected on all {len(trials)} probes"


@check("values", outputs=list)
def _values(context: CheckContext) -> tuple[float, str]:
    """Every selected output matches the reference on every probe."""
    problem = errors_message(context.trials)
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
            return 0.0, errors_message(context.trials) or "did not return a value with the baseline arguments"
        pairs.append((trial, label, got.values, expected))
    return _compare_outputs(context, pairs)


@check("added-term-values", outputs=list, parts=Reference)
def _added_term_values(context: CheckContext) -> tuple[float, str]:
    """What the non-baseline arguments add (output − baseline output) matches the reference's.

    With `parts` (instructor code giving the correct term as named parts, e.g. one per layer),
    a single wrong output whose term is exactly some of the parts on every probe earns their share.
    """
    pairs = []
    for trial in context.trials:
        if trial.baseline_expected is None:
            continue
        if not trial.returned or trial.baseline_got is None or trial.baseline_got.problem:
            return 0.0, errors_message(context.trials) or "did not return a value on every probe"
        assert trial.got is not None
        got = {
            name: trial.got.values[name] - trial.baseline_got.values[name]
            for name in trial.got.values
            if name in trial.baseline_got.values
            and trial.got.values[name].shape == trial.baseline_got.values[name].shape
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
    parts_of = context.spec.options["parts"]
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
