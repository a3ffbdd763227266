"""Detectors for compute_cost_with_regularization's catalog mistakes, from the numbers alone.

The cost's penalty is one number per probe, so one fit explains it whole: the student's penalty
(cost minus cost at λ = 0) divided by λ/2m is matched, on every probe at once, against every way
of summing the layers — each layer's weights squared (right), left out, or summed some other
way, with or without each layer's biases — times a factor k·m^p. The simplest exact fit wins,
and each way it departs from the right penalty is its own finding (a wrong factor, layers left
out, not squared, biases included), so a penalty with two mistakes is told as two.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grader.authoring import ABSOLUTE, POWERS, RELATIVE, Detection, Exercise, Trial, describe_factor, detects, is_zero

from .mistakes import _baseline_errors, _complete, _m, _Term, _terms

LAYERS = (1, 2, 3)
RIGHT_M = ("Y.shape[1]", "A3.shape[1]")
"""What `m` may be assigned in the cost: the number of examples of this call."""

# How a layer's weights may enter the penalty: (how the student's sum shows it, how to say it, value).
# The right form comes first, so among equal fits (for a 1-row W3, Σ(WWᵀ) is ‖W‖²) it is preferred.
_FORMS = (
    ("‖{w}‖²", "", lambda W: float(np.sum(W * W))),
    ("", "left out", lambda W: 0.0),
    ("(Σ{w})²", "(ΣW)², the square of the sum", lambda W: float(np.sum(W)) ** 2),
    ("‖{w}‖", "‖W‖, the norm without its square", lambda W: float(np.linalg.norm(W))),
    ("Σ{w}", "ΣW, the plain sum", lambda W: float(np.sum(W))),
    ("Σ({w}ᵀ{w})", "Σ(WᵀW), the sum of a matrix product", lambda W: float(np.sum(W.T @ W))),
    ("Σ({w}{w}ᵀ)", "Σ(WWᵀ), the sum of a matrix product", lambda W: float(np.sum(W @ W.T))),
)
_RIGHT, _LEFT_OUT = 0, 1


@dataclass(frozen=True)
class _Penalty:
    """How the student's penalty is built, exactly, on every probe with λ ≠ 0."""

    forms: tuple[int, ...]
    """Per layer, an index into _FORMS."""
    biases: tuple[int, ...]
    """Layers whose ‖b‖² is added too."""
    k: float
    power: int
    """The penalty is k·m^power × (λ/2m)·(the sum the forms and biases describe)."""
    terms: tuple[_Term, ...]

    @property
    def factor(self) -> str:
        return describe_factor(self.k, self.power, "m")

    @property
    def scaled(self) -> bool:
        return not (self.power == 0 and abs(self.k - 1) < 1e-6)

    def what(self) -> str:
        """The sum it computes: "Σ‖W‖²" when that is right, else e.g. "(‖W1‖² + (ΣW2)² + ‖b1‖²)"."""
        if all(form == _RIGHT for form in self.forms) and not self.biases:
            return "Σ‖W‖²"
        parts = [_FORMS[form][0].format(w=f"W{layer}") for layer, form in zip(LAYERS, self.forms) if form != _LEFT_OUT]
        parts += [f"‖b{layer}‖²" for layer in self.biases]
        return f"({' + '.join(parts)})" if len(parts) > 1 else parts[0]

    def exactly(self) -> str:
        scale = f"{self.factor} × " if self.scaled else ""
        return (f"on all {len(self.terms)} probes with λ ≠ 0, your penalty is exactly {scale}(λ/2m)·{self.what()}"
                + (f" (e.g. {self.k * self.terms[0].m ** self.power:.4g} × on '{self.terms[0].probe}', where "
                   f"m = {self.terms[0].m})" if self.scaled else ""))


_PENALTIES: dict[int, tuple[Sequence[Trial], _Penalty | None]] = {}
"""The fit of the last trials seen (every cost detector asks for the same one)."""


def _penalty(trials: Sequence[Trial]) -> _Penalty | None:
    kept = _PENALTIES.get(0)
    if kept is None or kept[0] is not trials:
        kept = _PENALTIES[0] = (trials, _fit_penalty(trials))
    return kept[1]


def _shapes_by_complexity() -> list[tuple[np.ndarray, np.ndarray]]:
    """Every way of building the penalty, as (forms per layer, biases added per layer) arrays, grouped by how
    many departures from the right penalty they make: 0 (right), 1, 2, ..."""
    groups: dict[int, list[tuple[tuple[int, ...], tuple[bool, ...]]]] = {}
    for forms in itertools.product(range(len(_FORMS)), repeat=len(LAYERS)):
        for biases in itertools.product((False, True), repeat=len(LAYERS)):
            departures = sum(form != _RIGHT for form in forms) + sum(biases)
            groups.setdefault(departures, []).append((forms, biases))
    return [(np.array([forms for forms, _ in group]), np.array([biases for _, biases in group], dtype=float))
            for _, group in sorted(groups.items())]


_SHAPES = _shapes_by_complexity()


def _fit_penalty(trials: Sequence[Trial]) -> _Penalty | None:
    """The simplest way of building the penalty that gives the student's on every probe, exactly."""
    terms = _terms(trials, "cost")
    if not _complete(terms):
        return None
    ms = np.array([term.m for term in terms], dtype=float)
    target = np.array([float(term.added) / (term.lambd / (2 * term.m)) for term in terms])
    values = np.array([[[form(term.arguments[2][f"W{layer}"]) for _, _, form in _FORMS] for layer in LAYERS]
                       for term in terms])  # [probe, layer, form]
    biases = np.array([[float(np.sum(term.arguments[2][f"b{layer}"] ** 2)) for layer in LAYERS] for term in terms])
    layer_index = np.arange(len(LAYERS))
    for forms, added_biases in _SHAPES:  # the fewest departures first: the simplest explanation wins
        sums = values[:, layer_index, forms].sum(axis=2) + biases @ added_biases.T  # [probe, way]
        with np.errstate(all="ignore"):
            laws = _laws(target[:, None] / sums, ms)
        # Nothing summed on some probe is no penalty there: see cost.l2-missing.
        fits = [(way, law) for way, law in enumerate(laws)
                if law is not None and np.all(np.abs(sums[:, way]) > ABSOLUTE)]
        if fits:
            # Among equally simple fits: no extra factor, then the fewest different forms (for a 1-row W3,
            # Σ(WᵀW) is (ΣW)²: a student who wrote Σ(WᵀW) for every layer is told so).
            way, (k, power) = min(fits, key=lambda fit: (not (fit[1][1] == 0 and abs(fit[1][0] - 1) < 1e-6),
                                                         len(set(forms[fit[0]].tolist()) - {_RIGHT, _LEFT_OUT})))
            return _Penalty(tuple(int(form) for form in forms[way]),
                            tuple(layer for layer, added in zip(LAYERS, added_biases[way]) if added), k, power,
                            tuple(terms))
    return None


def _laws(ratios: np.ndarray, ms: np.ndarray) -> list[tuple[float, int] | None]:
    """Per column of ratios [probe, way]: (k, p) with ratio = k·m^p on every probe, exactly, the simplest p
    first (as grader.authoring.power_law does for one column); None where no law fits."""
    laws: list[tuple[float, int] | None] = [None] * ratios.shape[1]
    for power in POWERS:
        if power and len(set(ms.tolist())) < 2:
            continue  # one m cannot tell a power of m from a constant
        scaled = ratios / ms[:, None] ** power
        first = scaled[0]
        exact = (np.abs(first) > 1e-9) & np.all(
            np.abs(scaled - first) <= ABSOLUTE + RELATIVE * np.maximum(np.abs(scaled), np.abs(first)), axis=0)
        for way in np.flatnonzero(exact):
            if laws[way] is None:
                laws[way] = (float(first[way]), power)
    return laws


def _m_used(penalty: _Penalty) -> int | None:
    """m₀ when the factor is m/m₀ for a fixed whole number m₀ (m = 1 gives the numbers of a missing /m)."""
    if penalty.power == 1 and penalty.k > 0 and abs(1 / penalty.k - round(1 / penalty.k)) < 1e-6:
        return round(1 / penalty.k)
    return None


def _layers(penalty: _Penalty, wanted) -> list[int]:
    return [layer for layer, form in zip(LAYERS, penalty.forms) if wanted(form)]


@detects("cost.l2-coefficient")
def cost_coefficient(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """The penalty is k·(λ/2m)·Σ‖W‖² with k ≠ 1 (λ/m, λ/2, λ/2·m...)."""
    penalty = _penalty(trials)
    if penalty is None or not penalty.scaled or (_m_used(penalty) or 0) >= 2:
        return []  # right, or m/m₀ for a fixed m₀ ≥ 2: a fixed m (cost.wrong-m)
    return [Detection(("cost",), penalty.exactly(), {"factor": penalty.factor}, sources=("parameters",),
                      aspects=("scale",))]


@detects("cost.wrong-m")
def cost_wrong_m(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """The penalty divides by a fixed m₀ instead of this call's m (m₀ = 1 when m is Y.shape[0] or len(Y))."""
    penalty = _penalty(trials)
    m_used = _m_used(penalty) if penalty is not None else None
    if penalty is None or m_used is None:
        return []
    evidence = (f"on all {len(penalty.terms)} probes with λ ≠ 0, your penalty equals (λ/2m)·{penalty.what()} "
                f"times m/{m_used}: it divides by {m_used}, not by this call's m (e.g. m = {penalty.terms[0].m} on "
                f"'{penalty.terms[0].probe}')")
    return [Detection(("cost",), evidence, {"m_used": str(m_used)}, variable="m", sources=("parameters",),
                      aspects=("scale",), right_values=RIGHT_M)]


@detects("cost.l2-missing-layer")
def cost_missing_layer(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """The penalty sums over some layers only."""
    penalty = _penalty(trials)
    missing = _layers(penalty, lambda form: form == _LEFT_OUT) if penalty is not None else []
    if penalty is None or not missing:
        return []
    names = ", ".join(f"W{layer}" for layer in missing)
    evidence = f"{penalty.exactly()}: {names} {'is' if len(missing) == 1 else 'are'} left out"
    return [Detection(("cost",), evidence, {"missing": names}, sources=("parameters",),
                      aspects=tuple(f"W{layer}" for layer in missing))]


@detects("cost.l2-not-squared")
def cost_not_squared(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """Some layer enters the penalty as something other than the sum of its squared entries."""
    penalty = _penalty(trials)
    layers = _layers(penalty, lambda form: form not in (_RIGHT, _LEFT_OUT)) if penalty is not None else []
    if penalty is None or not layers:
        return []
    used = sorted({_FORMS[form][1] for form in penalty.forms if form not in (_RIGHT, _LEFT_OUT)})
    evidence = f"{penalty.exactly()}: {', '.join(f'W{layer}' for layer in layers)} not squared entry by entry"
    return [Detection(("cost",), evidence, {"used": " or ".join(label.split(",")[0] for label in used)},
                      sources=("parameters",), aspects=tuple(f"W{layer}" for layer in layers))]


@detects("cost.l2-includes-bias")
def cost_includes_bias(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """The penalty also adds ‖b‖² of some layers."""
    penalty = _penalty(trials)
    if penalty is None or not penalty.biases:
        return []
    names = ", ".join(f"b{layer}" for layer in penalty.biases)
    evidence = f"{penalty.exactly()}: it adds the squares of {names}"
    return [Detection(("cost",), evidence, {"biases": names}, sources=("parameters",),
                      aspects=tuple(f"b{layer}" for layer in penalty.biases))]


def _squares(arguments: tuple) -> float:
    return sum(float(np.sum(arguments[2][f"W{layer}"] ** 2)) for layer in LAYERS)


@detects("cost.l2-missing")
def cost_missing(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """No penalty: the cost does not change with λ (and no fixed λ hides in it)."""
    terms = _terms(trials, "cost")
    if not _complete(terms) or not all(is_zero(t.added, t.lambd / t.m * _squares(t.arguments)) for t in terms):
        return []
    fit = _cost_baseline_fit(trials)
    if fit is not None and abs(fit[1]) > 1e-9:
        return []  # a fixed λ: see cost.hardcoded-lambda
    evidence = f"on all {len(terms)} probes with λ ≠ 0, the cost is exactly what it is with λ = 0"
    return [Detection(("cost",), evidence, {}, sources=("parameters",), absent=True)]


def _cost_baseline_fit(trials: Sequence[Trial]) -> tuple[float, float] | None:
    """(a, λ₀) with cost at λ = 0 = a·cross-entropy + (λ₀/2m)·Σ‖W‖² on every probe, exactly; else None."""
    rows, values = [], []
    for trial, error in _baseline_errors(trials, "cost"):
        if error is None:
            return None
        arguments = trial.probe.arguments
        cross_entropy = float(trial.baseline_expected["cost"] if trial.baseline_expected is not None
                              else trial.expected["cost"])
        rows.append((cross_entropy, _squares(arguments) / (2 * _m(arguments))))
        values.append(cross_entropy + float(error))
    if len(rows) < 3:
        return None
    matrix, target = np.array(rows), np.array(values)
    solution, *_ = np.linalg.lstsq(matrix, target, rcond=None)
    if not is_zero(matrix @ solution - target, float(np.max(np.abs(target)))):
        return None
    return float(solution[0]), float(solution[1])


@detects("cost.hardcoded-lambda")
def cost_hardcoded_lambda(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """The penalty uses a fixed number instead of `lambd`."""
    terms = _terms(trials, "cost")
    fit = _cost_baseline_fit(trials)
    if fit is None or abs(fit[1]) < 1e-9 or not _complete(terms) \
            or not all(is_zero(t.added, t.lambd / t.m * _squares(t.arguments)) for t in terms):
        return []
    lambda0 = fit[1]
    evidence = (f"the penalty does not change with lambd: on every probe it is (λ/2m)·Σ‖W‖² for λ = {lambda0:.4g}, "
                f"whatever lambd is passed")
    return [Detection(("cost",), evidence, {"value": f"{lambda0:.4g}"}, variable="lambd", sources=("parameters",),
                      part="whole")]


@detects("cost.cross-entropy-wrong")
def cross_entropy_wrong(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """The part without λ is a multiple of the cross-entropy other than 1 (counted twice, or left out)."""
    fit = _cost_baseline_fit(trials)
    if fit is None or abs(fit[0] - 1) < 1e-6:
        return []
    a = fit[0]
    what = ("counted twice" if abs(a - 2) < 1e-6 else "left out" if abs(a) < 1e-6
            else f"multiplied by {a:.4g}")
    evidence = f"on every probe, the cost minus its L2 part is exactly {a:.4g} × the cross-entropy: it is {what}"
    return [Detection(("cost",), evidence, {"how": what}, part="baseline")]
