"""Detectors for this assignment's catalog mistakes, recognised from the numbers alone.

Most work on the term the student adds for λ: their output minus their own output with
lambd = 0 on the same inputs. That isolates the penalty from the rest of the computation, so
a penalty mistake is recognised even when another part is wrong too. A detector reports only
when its pattern reproduces the student's numbers on every probe with λ ≠ 0.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from grader.authoring import Detection, Exercise, Trial, describe_factor, detects, factor, is_zero, power_law, same

WEIGHT_GRADIENTS = {"dW1": 2, "dW2": 6, "dW3": 10}  # output → index of its W in the cache
BIAS_GRADIENTS = {"db1": 3, "db2": 7, "db3": 11}
DOWNSTREAM_OF_WEIGHT = {"dA2": 10, "dA1": 6}  # dA_l = W_{l+1}ᵀ·dZ_{l+1}: output → index of that W


@dataclass(frozen=True)
class _Term:
    """What the student's output adds for λ on one probe with λ ≠ 0."""

    probe: str
    m: int
    lambd: float
    arguments: tuple
    added: np.ndarray | None
    """Output minus output at λ = 0; None when a call failed or the output is missing or misshapen."""


def _m(arguments: tuple) -> int:
    return int(arguments[1].shape[1])  # Y is (1, m) in both exercises


def _terms(trials: Sequence[Trial], output: str) -> list[_Term]:
    terms = []
    for trial in trials:
        if trial.baseline_expected is None:
            continue  # λ = 0 already: nothing is added
        lambd = float(trial.probe.arguments[3])
        added = None
        if trial.returned and trial.baseline_got is not None and not trial.baseline_got.problem:
            got, base = trial.got.values.get(output), trial.baseline_got.values.get(output)
            if got is not None and base is not None and got.shape == base.shape:
                added = got - base
        terms.append(_Term(trial.label, _m(trial.probe.arguments), lambd, trial.probe.arguments, added))
    return terms


def _complete(terms: list[_Term]) -> bool:
    return bool(terms) and all(term.added is not None for term in terms)


def _factors(terms: list[_Term], feature: Callable[[_Term], np.ndarray]) -> list[float] | None:
    """Per probe, k with added = k·feature exactly; None unless it holds on every probe."""
    ratios = []
    for term in terms:
        ratio = factor(term.added, feature(term)) if term.added is not None else None
        if ratio is None:
            return None
        ratios.append(ratio)
    return ratios


def _weight(index: int) -> Callable[[_Term], np.ndarray]:
    return lambda term: term.lambd / term.m * term.arguments[2][index]


def _baseline_errors(trials: Sequence[Trial], output: str) -> list[tuple[Trial, np.ndarray | None]]:
    """Per probe, the student's output at λ = 0 minus the correct one (None when unavailable)."""
    errors = []
    for trial in trials:
        got, expected = ((trial.baseline_got, trial.baseline_expected) if trial.baseline_expected is not None
                         else (trial.got, trial.expected))
        value = got.values.get(output) if got is not None and not got.problem else None
        errors.append((trial, value - expected[output] if value is not None and value.shape == expected[output].shape
                       else None))
    return errors


def _adds_nothing(terms: list[_Term], index: int) -> bool:
    """Whether the output is the same with and without λ on every probe (next to the size of (λ/m)·W)."""
    return _complete(terms) and all(
        is_zero(t.added, t.lambd / t.m * float(np.max(np.abs(t.arguments[2][index])))) for t in terms)


Law = tuple[float, int, str]
"""(k, p, how to say k·m^p)."""


def _law_for(terms: list[_Term], feature: Callable[[_Term], np.ndarray]) -> tuple[list[float], Law] | None:
    """The per-probe factors of `feature` in the added term, and their law k·m^p; None unless exact everywhere."""
    ratios = _factors(terms, feature) if _complete(terms) else None
    law = _law_text(ratios, terms) if ratios else None
    return (ratios, law) if law is not None else None


def _example(term: _Term) -> str:
    return f"on '{term.probe}'"


def _law_text(ratios: list[float], terms: list[_Term]) -> tuple[float, int, str] | None:
    law = power_law(ratios, [term.m for term in terms])
    return None if law is None else (law[0], law[1], describe_factor(*law, "m"))


def _is_one(k: float, power: int) -> bool:
    return power == 0 and abs(k - 1) < 1e-6


# ---- backward_propagation_with_regularization ------------------------------------------


@detects("grad.l2-coefficient")
def gradient_coefficient(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dW_l adds k·(λ/m)·W_l with k ≠ 1 (a missing /m, an extra ½ or 2)."""
    detections = []
    for output, index in WEIGHT_GRADIENTS.items():
        terms = _terms(trials, output)
        found = _law_for(terms, _weight(index))
        if found is None:
            continue
        ratios, (k, power, text) = found
        if _is_one(k, power) or abs(k) < 1e-9 or (power == 0 and abs(k + 1) < 1e-6):
            continue  # right, missing, or the wrong sign: reported by their own detectors
        evidence = (f"on all {len(terms)} probes with λ ≠ 0, what your {output} adds for λ is exactly {text} × "
                    f"(λ/m)·W{output[-1]} (e.g. {ratios[0]:.4g} × {_example(terms[0])}, where m = {terms[0].m})")
        details = {"output": output, "weight": f"W{output[-1]}", "factor": text}
        detections.append(Detection((output,), evidence, details))
    return detections


@detects("grad.l2-wrong-sign")
def gradient_wrong_sign(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dW_l subtracts (λ/m)·W_l instead of adding it."""
    detections = []
    for output, index in WEIGHT_GRADIENTS.items():
        terms = _terms(trials, output)
        ratios = _factors(terms, _weight(index)) if _complete(terms) else None
        if ratios and all(abs(ratio + 1) < 1e-6 for ratio in ratios):
            evidence = (f"on all {len(terms)} probes with λ ≠ 0, what your {output} adds for λ is exactly "
                        f"−(λ/m)·W{output[-1]}: the right size, the opposite sign")
            detections.append(Detection((output,), evidence, {"output": output, "weight": f"W{output[-1]}"}))
    return detections


def _hardcoded_lambda(trials: Sequence[Trial], output: str, weight: Callable[[tuple], np.ndarray]) -> float | None:
    """λ₀ when the output at λ = 0 is off by exactly (λ₀/m)·W on every probe (a constant used for λ)."""
    values = []
    for trial, error in _baseline_errors(trials, output):
        if error is None:
            return None
        ratio = factor(error, weight(trial.probe.arguments) / _m(trial.probe.arguments))
        if ratio is None:
            return None
        values.append(ratio)
    return values[0] if values and same(values) and abs(values[0]) > 1e-9 else None


@detects("grad.hardcoded-lambda")
def gradient_hardcoded_lambda(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dW_l uses a fixed number instead of the `lambd` argument."""
    detections = []
    for output, index in WEIGHT_GRADIENTS.items():
        if not _adds_nothing(_terms(trials, output), index):
            continue
        lambda0 = _hardcoded_lambda(trials, output, lambda arguments: arguments[2][index])
        if lambda0 is None:
            continue
        evidence = (f"{output} does not change with λ: on every probe it equals the correct value for "
                    f"λ = {lambda0:.4g}, "
                    f"whatever lambd is passed (it is right only when lambd = {lambda0:.4g})")
        detections.append(Detection((output,), evidence, {"output": output, "value": f"{lambda0:.4g}"},
                                    variable="lambd", part="whole"))
    return detections


@detects("grad.l2-missing")
def gradient_missing(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dW_l has no penalty term at all."""
    detections = []
    for output, index in WEIGHT_GRADIENTS.items():
        terms = _terms(trials, output)
        fixed = _hardcoded_lambda(trials, output, lambda arguments: arguments[2][index])
        if _adds_nothing(terms, index) and fixed is None:
            evidence = (f"on all {len(terms)} probes with λ ≠ 0, {output} is exactly what it is with λ = 0: "
                        f"nothing is added for the penalty")
            detections.append(Detection((output,), evidence, {"output": output, "weight": f"W{output[-1]}"},
                                        absent=True))
    return detections


_SUMMARIES = ((np.sum, "Σ{w}"), (np.linalg.norm, "‖{w}‖"))
"""Ways students collapse W into one number: its sum, or its (Frobenius) norm."""


def _collapsed_penalty(terms: list[_Term], index: int) -> tuple[str, bool, tuple[float, int, str]] | None:
    """How the added term is one number in every entry: (summary label, on top of (λ/m)·W, factor law)."""
    for summary, label in _SUMMARIES:
        def collapsed(term: _Term, summary=summary) -> np.ndarray:
            W = term.arguments[2][index]
            return np.full(W.shape, term.lambd / term.m * float(summary(W)))

        # The constant replaces (λ/m)·W, or comes on top of it: both collapse the penalty to a number.
        for keeps_matrix in (False, True):
            remainders = [_Term(t.probe, t.m, t.lambd, t.arguments,
                                t.added - _weight(index)(t) if keeps_matrix else t.added) for t in terms]
            ratios = _factors(remainders, collapsed)
            law = _law_text(ratios, terms) if ratios else None
            if law is not None and abs(law[0]) > 1e-9:
                return label, keeps_matrix, law
    return None


@detects("grad.l2-sum-of-weights")
def sum_of_weights(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dW_l gets a constant (λ/m)·ΣW_l (or a norm of W_l) in every entry instead of the matrix (λ/m)·W_l."""
    detections = []
    for output, index in WEIGHT_GRADIENTS.items():
        terms = _terms(trials, output)
        match = _collapsed_penalty(terms, index) if _complete(terms) else None
        if match is None:
            continue
        label, keeps_matrix, law = match
        weight_name = f"W{output[-1]}"
        factor_text = "" if _is_one(*law[:2]) else f"{law[2]} × "
        term = terms[0]
        scaled = _weight(index)(term)
        constant = float((term.added - scaled if keeps_matrix else term.added).flat[0])
        evidence = (
            f"on all {len(terms)} probes with λ ≠ 0, what your {output} adds for λ is the same number in every "
            f"entry — exactly {factor_text}(λ/m)·{label.format(w=weight_name)}"
            + (" on top of (λ/m)·W" if keeps_matrix else "")
            + f": e.g. {constant:+.4g} {_example(term)}, where the entries of (λ/m)·{weight_name} range from "
            f"{float(np.min(scaled)):+.4g} to {float(np.max(scaled)):+.4g}"
        )
        detections.append(Detection((output,), evidence, {"output": output, "weight": weight_name}))
    return detections


@detects("grad.l2-squared-weights")
def gradient_squared_weights(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dW_l adds (λ/m)·W∘W (or (λ/m)·Σw²): the penalty itself instead of its derivative."""
    detections = []
    for output, index in WEIGHT_GRADIENTS.items():
        terms = _terms(trials, output)
        features = (
            (lambda t: t.lambd / t.m * t.arguments[2][index] ** 2,
             f"(λ/m)·W{output[-1]}∘W{output[-1]} (each weight squared)"),
            (lambda t: np.full(t.arguments[2][index].shape, t.lambd / t.m * float(np.sum(t.arguments[2][index] ** 2))),
             f"(λ/m)·‖W{output[-1]}‖² in every entry"),
        )
        for feature, label in features:
            found = _law_for(terms, feature)
            law = found[1] if found else None
            if law is not None and abs(law[0]) > 1e-9:
                factor_text = "" if _is_one(*law[:2]) else f"{law[2]} × "
                evidence = (f"on all {len(terms)} probes with λ ≠ 0, what your {output} adds for λ is exactly "
                            f"{factor_text}{label}")
                detections.append(Detection((output,), evidence, {"output": output, "weight": f"W{output[-1]}"}))
                break
    return detections


def _broke(trial: Trial, output: str, shape: tuple[int, ...]) -> bool:
    """The call failed, or returned `output` in a shape other than `shape` (what a shape mistake does)."""
    if not trial.returned:
        return trial.outcome is not None and trial.outcome.error is not None
    value = trial.got.values.get(output)
    return value is not None and value.shape != shape


def _substitute_matrix(trials: Sequence[Trial], output: str, index: int,
                       replacement: Callable[[tuple], np.ndarray | None]) -> tuple[int, list[_Term]] | None:
    """Check added = (λ/m)·replacement where its shape fits, and a shape failure everywhere else.

    Returns (probes where it fits and differs from the right term, the terms), or None.
    """
    telling = 0
    checked = []
    for trial in trials:
        if trial.baseline_expected is None:
            continue
        arguments = trial.probe.arguments
        W = arguments[2][index]
        other = replacement(arguments)
        if other is None or other.shape != W.shape:
            if not _broke(trial, output, W.shape):
                return None
            continue
        term = _terms([trial], output)[0]
        ratio = factor(term.added, term.lambd / term.m * other) if term.added is not None else None
        if ratio is None or abs(ratio - 1) > 1e-6:
            return None
        checked.append(term)
        telling += not np.allclose(other, W)
    return (telling, checked) if telling else None


@detects("grad.l2-transposed")
def gradient_transposed(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dW_l adds (λ/m)·W_lᵀ: silent for square W, a shape error otherwise."""
    detections = []
    for output, index in WEIGHT_GRADIENTS.items():
        found = _substitute_matrix(trials, output, index, lambda arguments: arguments[2][index].T)
        if found is None:
            continue
        telling, _ = found
        evidence = (f"where W{output[-1]} is square, what your {output} adds for λ is exactly (λ/m)·W{output[-1]}ᵀ "
                    f"({telling} probes); where it is not square, the call fails or {output} comes back in the "
                    "wrong shape")
        detections.append(Detection((output,), evidence, {"output": output, "weight": f"W{output[-1]}"},
                                    explains_errors=True))
    return detections


@detects("grad.l2-wrong-layer")
def gradient_wrong_layer(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dW_l adds (λ/m)·W_k of another layer."""
    detections = []
    for output, index in WEIGHT_GRADIENTS.items():
        for other_output, other_index in WEIGHT_GRADIENTS.items():
            if other_output == output:
                continue
            found = _substitute_matrix(trials, output, index, lambda arguments, i=other_index: arguments[2][i])
            if found is None:
                continue
            evidence = (f"where W{other_output[-1]} has the shape of W{output[-1]}, what your {output} adds for λ is "
                        f"exactly (λ/m)·W{other_output[-1]} ({found[0]} probes); elsewhere the shapes clash")
            detections.append(Detection((output,), evidence, {"output": output, "weight": f"W{output[-1]}",
                                                              "other": f"W{other_output[-1]}"}, explains_errors=True))
    return detections


@detects("grad.l2-bias-regularized")
def bias_regularized(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """db_l gets a penalty term (λ/m)·b_l it should not have."""
    detections = []
    for output, index in BIAS_GRADIENTS.items():
        terms = _terms(trials, output)
        found = _law_for(terms, _weight(index))
        law = found[1] if found else None
        if law is None or abs(law[0]) < 1e-9:
            continue
        evidence = (f"on all {len(terms)} probes with λ ≠ 0, your {output} changes with λ by exactly "
                    f"{'' if _is_one(*law[:2]) else law[2] + ' × '}(λ/m)·b{output[-1]}; it should not change at all")
        detections.append(Detection((output,), evidence, {"output": output, "bias": f"b{output[-1]}"}))
    return detections


def _count_used(m_used: list[int], arguments: list[tuple]) -> str:
    """What the wrong m is, when it is always the same thing: a fixed number, or a dimension of X."""
    if len(set(m_used)) == 1:
        return f"{m_used[0]}" + (" (Y.shape[0] or len(Y): Y has one row)" if m_used[0] == 1 else "")
    if all(used == X.shape[0] for used, (X, *_) in zip(m_used, arguments)):
        return "X.shape[0], the number of input features"
    return "a number that is not the number of examples"


@detects("grad.wrong-m")
def gradient_wrong_m(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """Every dW and db is m/m′ times the correct one, with one m′ per probe: the 1/m divides by another count."""
    scaled = [*WEIGHT_GRADIENTS, *BIAS_GRADIENTS]
    unscaled = [key for key in exercise.keys if key not in scaled]
    used: list[tuple[Trial, int, int]] = []  # (trial, m, the m the student divided by)
    for trial in trials:
        calls = [(trial.got, trial.expected)]
        if trial.baseline_expected is not None:
            calls.append((trial.baseline_got, trial.baseline_expected))
        ratios = []
        for got, expected in calls:
            if got is None or got.problem:
                return []
            for output in unscaled:  # dZ and dA do not divide by m: they must be right
                value = got.values.get(output)
                if value is None or value.shape != expected[output].shape \
                        or not is_zero(value - expected[output], float(np.max(np.abs(expected[output])))):
                    return []
            for output in scaled:
                value = got.values.get(output)
                ratio = factor(value, expected[output]) if value is not None else None
                if ratio is None or ratio <= 0:
                    return []
                ratios.append(ratio)
        m = _m(trial.probe.arguments)
        m_used = m / ratios[0]
        if not same(ratios) or abs(m_used - round(m_used)) > 1e-6 or round(m_used) < 1:
            return []  # not one count for the whole probe
        used.append((trial, m, round(m_used)))
    if not used or all(m == m_used for _, m, m_used in used):
        return []
    if len({m for _, m, _ in used}) > 1 and same([m / m_used for _, m, m_used in used]):
        return []  # the same factor whatever m is: a constant, not a count (see the generic description)
    examples = ", ".join(f"m′ = {m_used} on '{trial.label}' (m = {m})" for trial, m, m_used in used[:3])
    what = _count_used([m_used for _, _, m_used in used], [trial.probe.arguments for trial, _, _ in used])
    evidence = (f"on every probe, every dW and db is exactly m/m′ times the correct value, with one m′ per probe, "
                f"while dZ and dA are right: {examples}; m′ is {what}")
    return [Detection(tuple(sorted(scaled, key=exercise.keys.index)), evidence, {"m_used": what}, variable="m",
                      part="whole", right_values=("X.shape[1]", "Y.shape[1]"))]


@detects("grad.overwrites-weights")
def overwrites_weights(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """W_l was overwritten with (λ/m)·W_l, so dA_{l−1} = W_lᵀ·dZ_l is scaled by λ/m."""
    detections = []
    for output, index in DOWNSTREAM_OF_WEIGHT.items():
        consistent, calls = True, 0
        for trial in trials:
            pairs = [(trial.got, trial.expected, float(trial.probe.arguments[3]))]
            if trial.baseline_expected is not None:
                pairs.append((trial.baseline_got, trial.baseline_expected, 0.0))
            for got, expected, lambd in pairs:
                value = got.values.get(output) if got is not None and not got.problem else None
                scale = lambd / _m(trial.probe.arguments)
                if value is None or value.shape != expected[output].shape \
                        or not is_zero(value - scale * expected[output], float(np.max(np.abs(expected[output])))):
                    consistent = False
                calls += 1
        if consistent and calls:
            weight = f"W{index // 4 + 1}"
            evidence = (f"{output} equals the correct {output} times λ/m on every call (0 when λ = 0): it is computed "
                        f"from (λ/m)·{weight} instead of {weight}")
            detections.append(Detection((output,), evidence, {"output": output, "weight": weight}, variable=weight,
                                        part="whole"))
    return detections
