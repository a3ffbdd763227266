"""Detectors for the dropout functions' catalog mistakes, recognised from the numbers alone.

The forward pass is judged on the student's own masks (see the spec's student_draws), so most
mistakes are read layer by layer off the student's own cache: given their Z_l and D_l, their A_l
is relu(Z_l)·D_l/keep_prob, or relu(Z_l)·D_l (not scaled), or relu(Z_l)·D_l·keep_prob, or
relu(Z_l)/keep_prob (no mask). Each layer is judged on its own values, so a mistake upstream
never hides one downstream. The masks' shares of kept units, on the large probes, tell how they
were drawn: randn keeps Φ(p), `> keep_prob` keeps 1 − p, a fixed number the same share whatever p.

The backward pass gets caches with masks the grader knows; dA_l is judged against Wᵀ·dZ from
the student's own dZ, so again one layer at a time.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from grader.authoring import Detection, Exercise, Trial, detects, is_zero, same

from .dropout import forward_with_masks

MASKS = {"cache.D1": "cache.A1", "cache.D2": "cache.A2"}
LAYERS = ((1, "cache.Z1", "cache.D1", "cache.A1"), (2, "cache.Z2", "cache.D2", "cache.A2"))
LARGE_UNITS = 5000
SIGMAS = 5.0
DRAW_CALLS = ("rand", "randn", "random", "random_sample", "uniform", "binomial", "randint", "choice")


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def _equal(got: np.ndarray | None, wanted: np.ndarray) -> bool:
    if got is None or got.shape != wanted.shape:
        return False
    scale = float(np.max(np.abs(wanted), initial=0.0)) + float(np.max(np.abs(got), initial=0.0))
    return is_zero(got - wanted, scale)


def _mask_like(D: np.ndarray, Z: np.ndarray) -> np.ndarray | None:
    """The student's mask D as it applies to Z (a column per neuron spreads over the examples), or None when
    it cannot (a mask of another shape: the draws check reports it)."""
    try:
        return np.broadcast_to(D, Z.shape)
    except ValueError:
        return None


def _main_calls(trials: Sequence[Trial], index: int) -> list[tuple[Trial, float]]:
    """The calls with p < 1 that returned (where dropout does something), with p."""
    return [(trial, float(trial.probe.arguments[index])) for trial in trials
            if trial.returned and float(trial.probe.arguments[index]) < 1]


def _within(share: float, probability: float, units: int) -> bool:
    margin = SIGMAS * math.sqrt(probability * (1 - probability) / units)
    return abs(share - probability) <= margin + 1e-12


def _shares(trials: Sequence[Trial], mask: str) -> list[tuple[float, float, int, str]] | None:
    """(share kept, p, units, call) of a 0/1 mask on each large main call; None if one is not a 0/1 mask."""
    found = []
    for trial, p in _main_calls(trials, 2):
        assert trial.got is not None
        draw = trial.got.values.get(mask)
        binary = draw is not None and np.all((draw == 0) | (draw == 1))
        if not binary or _per_neuron(draw, trial.expected[MASKS[mask]].shape):
            return None  # not a share of independent 0/1 draws
        if draw.size >= LARGE_UNITS:
            found.append((float(np.count_nonzero(draw)) / draw.size, p, int(draw.size), trial.label))
    return found


def _shared_by(trials: Sequence[Trial], expected: Callable[[float], float | None]) -> list[str]:
    """The masks whose share kept is, on every large probe, within bounds of expected(p) and not of p."""
    masks = []
    for mask in MASKS:
        shares = _shares(trials, mask)
        if not shares:
            continue
        fits = all((wanted := expected(p)) is not None and _within(share, wanted, units)
                   for share, p, units, _ in shares)
        if fits and not all(_within(share, p, units) for share, p, units, _ in shares):
            masks.append(mask)
    return masks


def _example(trials: Sequence[Trial], mask: str, rule: str, expected: Callable[[float], float | None]) -> str:
    shares = _shares(trials, mask) or []
    share, p, units, call = max(shares, key=lambda item: item[2])
    return (f"{_short(mask)} kept {share:.1%} of {units:,} units where keep_prob = {p:g} (on '{call}'); "
            f"{rule.format(p=f'{p:g}')} keeps {expected(p):.1%}")


def _names(names: Sequence[str]) -> str:
    return " and ".join(_short(name) for name in names)


def _short(name: str) -> str:
    """An output as the student's code names it: `cache.D1` is D1."""
    return name.removeprefix("cache.")


@detects("dropout.mask-from-randn")
def mask_from_randn(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """Masks drawn from the normal distribution: randn < p keeps Φ(p) of the units, not p (randn > p: 1 − Φ(p))."""
    evidence = [_example(trials, mask, "randn(...) < {p}, with probability Φ({p}),", _phi)
                for mask in _shared_by(trials, _phi)]
    evidence += [_example(trials, mask, "randn(...) > {p}, with probability 1 − Φ({p}),", _above_randn)
                 + " (compared the wrong way too)" for mask in _shared_by(trials, _above_randn)]
    masks = [*_shared_by(trials, _phi), *_shared_by(trials, _above_randn)]
    if not masks:
        return []
    # The distribution and the comparison are two mistakes on two lines: independent aspects of a mask.
    return [Detection(tuple(masks), "; ".join(evidence), {"masks": _names(masks)}, part="whole",
                      calls=("randn",), aspects=("distribution",))]


@detects("dropout.mask-inverted")
def mask_inverted(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """Units kept where rand > keep_prob: that keeps 1 − p of them, not p (with randn, 1 − Φ(p))."""
    evidence = [_example(trials, mask, "rand(...) > {p}", _above_rand) for mask in _shared_by(trials, _above_rand)]
    evidence += [_example(trials, mask, "randn(...) > {p}, with probability 1 − Φ({p}),", _above_randn)
                 + " (from randn too)" for mask in _shared_by(trials, _above_randn)]
    masks = [*_shared_by(trials, _above_rand), *_shared_by(trials, _above_randn)]
    if not masks:
        return []
    return [Detection(tuple(masks), "; ".join(evidence), {"masks": _names(masks)}, part="whole",
                      aspects=("comparison",))]


def _above_rand(p: float) -> float:
    return 1 - p


def _above_randn(p: float) -> float:
    return 1 - _phi(p)


@detects("dropout.mask-per-neuron")
def mask_per_neuron(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """One draw per neuron, shared by every example: a mask of shape (n, 1), or every column the same."""
    shown: dict[str, str] = {}
    for mask, like in MASKS.items():
        example, contradicted = None, False  # a small call whose columns happen to agree neither shows nor contradicts
        for trial, _ in _main_calls(trials, 2):
            assert trial.got is not None
            draw, shape = trial.got.values.get(mask), trial.expected[like].shape
            if draw is None or shape[1] < 2:
                continue
            if _per_neuron(draw, shape):
                example = example or (f"{_short(mask)} has shape {draw.shape} where {_short(like)} has {shape}"
                                      if draw.shape != shape else f"every column of {_short(mask)} is the same")
                example += f" (on '{trial.label}')" if example[-1] != ")" else ""
            elif not _same_columns(draw):
                contradicted = True
        if example and not contradicted:
            shown[mask] = example
    if not shown:
        return []
    evidence = "; ".join(shown.values()) + ": one number per neuron, the same for every example"
    return [Detection(tuple(shown), evidence, {"masks": _names(list(shown))}, part="whole", calls=DRAW_CALLS)]


def _per_neuron(draw: np.ndarray, shape: tuple[int, ...]) -> bool:
    """One number per neuron: a mask of shape (n, 1) or (n,), or a full mask whose columns are all the same
    (and that shows it: some units kept, some dropped, on a large call)."""
    if draw.shape in ((shape[0], 1), (shape[0],)):
        return True
    return draw.shape == shape and _same_columns(draw) and draw.size >= LARGE_UNITS \
        and 0 < np.count_nonzero(draw) < draw.size


def _same_columns(draw: np.ndarray) -> bool:
    return draw.ndim == 2 and bool(np.all(draw == draw[:, :1]))


def _layer_form(trials: Sequence[Trial], layer: tuple[int, str, str, str]) -> str | None:
    """How the student's A_l follows from their own Z_l and D_l on every main call: the name of the form, or None."""
    _, z_name, d_name, a_name = layer
    forms: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
        "right": lambda Z, D, p: _relu(Z) * D / p,
        "not-scaled": lambda Z, D, p: _relu(Z) * D,
        "scaled-by-keep-prob": lambda Z, D, p: _relu(Z) * D * p,
        "mask-not-applied": lambda Z, D, p: _relu(Z) / p,
    }
    calls = _main_calls(trials, 2)
    if not calls:
        return None
    for name, form in forms.items():
        fits = True
        for trial, p in calls:
            assert trial.got is not None
            Z, D, A = (trial.got.values.get(key) for key in (z_name, d_name, a_name))
            mask = _mask_like(D, Z) if Z is not None and D is not None else None
            if mask is None or not _equal(A, form(Z, mask, p)):
                fits = False
                break
        if fits:
            return name
    return None


def _computed_right(trials: Sequence[Trial]) -> bool:
    """Whether A3 is the reference's given the student's masks on every call (the computation was right)."""
    return all(_equal(trial.got.values.get("A3"), trial.expected["A3"]) for trial in trials
               if trial.returned and trial.got is not None)


def _layer_detections(trials: Sequence[Trial], form: str) -> list[Detection]:
    if _computed_right(trials):
        return []  # the values that matter are right: a cache entry holds something else (dropout.cache-mismatch)
    layers = [layer for layer in LAYERS if _layer_form(trials, layer) == form]
    detections = []
    for number, *names in layers:
        z_name, d_name, a_name = map(_short, names)
        evidence = {
            "not-scaled": f"on every probe with keep_prob < 1, your {a_name} is exactly relu({z_name})·{d_name}, "
                          f"keep_prob times too small: it is not divided by keep_prob",
            "scaled-by-keep-prob": f"on every probe with keep_prob < 1, your {a_name} is exactly "
                                   f"relu({z_name})·{d_name}·keep_prob: multiplied by keep_prob, not divided",
            "mask-not-applied": f"on every probe with keep_prob < 1, your {a_name} is exactly relu({z_name})/keep_prob:"
                                f" divided by keep_prob, but {d_name} never shuts a unit down",
        }[form]
        # A division or a mask left out is pointed at where A_l is put together; a wrong factor, where it is used.
        detections.append(Detection((names[2],), evidence, {"layer": str(number), "mask": d_name, "activation": a_name},
                                    part="whole", absent=form != "scaled-by-keep-prob", given_upstream=True))
    return detections


@detects("dropout.not-scaled")
def not_scaled(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """A_l = relu(Z_l)·D_l: the kept units are not divided by keep_prob."""
    return _layer_detections(trials, "not-scaled")


@detects("dropout.scaled-by-keep-prob")
def scaled_by_keep_prob(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """A_l = relu(Z_l)·D_l·keep_prob: multiplied instead of divided."""
    return _layer_detections(trials, "scaled-by-keep-prob")


@detects("dropout.mask-not-applied")
def mask_not_applied(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """A_l = relu(Z_l)/keep_prob: scaled, but no unit shut down."""
    return _layer_detections(trials, "mask-not-applied")


@detects("dropout.keep-prob-fixed")
def keep_prob_fixed(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """A fixed number used for keep_prob: A_l is divided by the same number, or the masks keep the same share,
    whatever keep_prob is."""
    calls = _main_calls(trials, 2)
    if len({p for _, p in calls}) < 2:
        return []
    divided = {a_name: value for layer in LAYERS if (value := _fixed_division(calls, layer)) is not None
               for a_name in (layer[3],)}
    masks = [mask for mask in MASKS if _fixed_share(trials, mask) is not None]
    if not divided and not masks:
        return []
    if divided:
        value = f"{next(iter(divided.values())):.3g}"
    else:
        value = f"about {_fixed_share(trials, masks[0]):.2f}"
    probes = ", ".join(sorted({f"{p:g}" for _, p in calls}))
    # One detection per output, each pointed at its own line (they merge when it is one `keep_prob = ...`).
    return [Detection((name,), f"{_short(name)} behaves as if keep_prob were {value} on every probe, whatever "
                               f"keep_prob is passed (the probes pass {probes})", {"value": value}, part="whole",
                      variable="keep_prob", absent=True, given_upstream=True)
            for name in (*divided, *masks)]


def _fixed_division(calls: Sequence[tuple[Trial, float]], layer: tuple[int, str, str, str]) -> float | None:
    """The number A_l = relu(Z_l)·D_l/c is divided by on every call, when it is the same c whatever p is."""
    _, z_name, d_name, a_name = layer
    fixed = []
    for trial, p in calls:
        assert trial.got is not None
        Z, D, A = (trial.got.values.get(key) for key in (z_name, d_name, a_name))
        mask = _mask_like(D, Z) if Z is not None and D is not None else None
        if mask is None or A is None or A.shape != Z.shape:
            return None
        kept = _relu(Z) * mask
        if not np.any(kept):
            continue
        ratio = float(np.vdot(kept, A) / np.vdot(kept, kept))
        if not ratio or not _equal(A, kept * ratio):
            return None
        fixed.append(1 / ratio)
    # Dividing by 1 on every probe is not dividing at all: that is dropout.not-scaled.
    if fixed and same(fixed) and abs(fixed[0] - 1) > 1e-9 and not all(
            abs(c - p) < 1e-9 for c, (_, p) in zip(fixed, calls)):
        return fixed[0]
    return None


def _fixed_share(trials: Sequence[Trial], mask: str) -> float | None:
    """The share a mask keeps on every large call, when it is the same whatever p is (and not p)."""
    shares = _shares(trials, mask) or []
    if len({p for _, p, _, _ in shares}) < 2:
        return None
    first = shares[0][0]
    if all(_within(share, first, units) for share, _, units, _ in shares) \
            and not all(_within(share, p, units) for share, p, units, _ in shares):
        return first
    return None


@detects("dropout.mask-on-output")
def mask_on_output(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """Dropout on the output layer: every entry of A3 is 0 or the right value divided by keep_prob."""
    calls = _main_calls(trials, 2)
    zeroed = 0
    for trial, p in calls:
        assert trial.got is not None
        got, expected = trial.got.values.get("A3"), trial.expected["A3"]
        if got is None or got.shape != expected.shape:
            return []
        dropped = np.abs(got) <= 1e-12
        if not _equal(got[~dropped], expected[~dropped] / p):
            return []
        zeroed += int(dropped.sum())
    if not calls or not zeroed:
        return []
    evidence = ("on every probe with keep_prob < 1, each entry of your A3 is either 0 or the right value divided by "
                f"keep_prob ({zeroed} entries are 0): the output layer is dropped out too")
    return [Detection(("A3", "cache.A3"), evidence, {}, part="whole")]


@detects("dropout.mask-on-input")
def mask_on_input(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """Dropout on the input X: Z1 = W1·(X·D0/keep_prob) + b1, each entry of the X used either 0 or X/keep_prob.

    The X used is recovered from Z1 where W1 has at least as many rows as columns (then W1·X' = Z1 − b1 has
    one solution); on the other calls Z1 must be wrong, as it is when X is masked.
    """
    recovered = dropped = 0
    for trial, p in _main_calls(trials, 2):
        assert trial.got is not None
        X, parameters = trial.probe.arguments[0], trial.probe.arguments[1]
        W1, b1, Z1 = parameters["W1"], parameters["b1"], trial.got.values.get("cache.Z1")
        if Z1 is None or Z1.shape != trial.expected["cache.Z1"].shape or _equal(Z1, trial.expected["cache.Z1"]):
            return []
        if W1.shape[0] < W1.shape[1] or np.linalg.matrix_rank(W1) < W1.shape[1]:
            continue
        used = np.linalg.lstsq(W1, Z1 - b1, rcond=None)[0]
        zero = np.abs(used) <= 1e-9 * (1 + np.abs(X) / p)
        if not _equal(used[~zero], X[~zero] / p):
            return []
        recovered += 1
        dropped += int(np.count_nonzero(zero & (X != 0)))
    if not recovered or not dropped:
        return []
    evidence = (f"on the {recovered} probes where it can be told, your Z1 is W1·X′ + b1 with each entry of X′ "
                f"either 0 or X/keep_prob ({dropped} entries of X dropped): the input layer is dropped out")
    return [Detection(("cache.Z1",), evidence, {}, part="whole", calls=DRAW_CALLS)]


@detects("dropout.cache-mismatch")
def cache_mismatch(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """A3 is right, but the cache does not hold what was computed: an activation before its mask, or the
    uniform draws where the 0/1 mask applied (draw < keep_prob) belongs."""
    if _computed_right(trials):
        wrong = [name for name in exercise.keys if name.startswith("cache.") and name not in MASKS and any(
            trial.got is not None and not _equal(trial.got.values.get(name), trial.expected[name])
            for trial in trials if trial.returned)]
        is_are = "is" if len(wrong) == 1 else "are"
        evidence = (f"A3 is right on every probe, but the cache's {_names(wrong)} {is_are} "
                    "not the values A3 was computed from")
    else:
        wrong = _raw_draws_stored(trials)
        is_are = "is" if len(wrong) == 1 else "are"
        evidence = (f"your A3 is, on every probe, what the 0/1 masks (draw < keep_prob) give, but the cache's "
                    f"{_names(wrong)} {is_are} the uniform draws themselves (values between 0 and 1), "
                    "so the other checks, "
                    "which read your masks from the cache, find A3 wrong")
    if not wrong:
        return []
    return [Detection(tuple(wrong), evidence, {"entries": _names(wrong), "is_are": is_are}, part="whole")]


def _raw_draws_stored(trials: Sequence[Trial]) -> list[str]:
    """The masks the cache holds as uniform draws in [0, 1) when A3 is right given the masks draw < keep_prob."""
    raw: set[str] = set()
    for trial in trials:
        if not trial.returned or trial.got is None:
            continue
        X, parameters, p = trial.probe.arguments
        draws = [trial.got.values.get(mask) for mask in MASKS]
        if any(draw is None or draw.shape != trial.expected[like].shape for draw, like in zip(draws, MASKS.values())):
            return []
        applied = (draw if np.all((draw == 0) | (draw == 1)) else (draw < p).astype(int) for draw in draws)
        A3 = forward_with_masks(X, parameters, p, *applied)[0]
        if not _equal(trial.got.values.get("A3"), A3):
            return []
        raw.update(mask for mask, draw in zip(MASKS, draws)
                   if np.all((draw >= 0) & (draw < 1)) and not np.all((draw == 0) | (draw == 1)))
    return [mask for mask in MASKS if mask in raw]


# ---- backward_propagation_with_dropout ---------------------------------------------------------------


BACKWARD_LAYERS = ((2, "dA2", "dZ2", "dZ3", 12, 6, 7), (1, "dA1", "dZ1", "dZ2", 8, 1, 2))
"""(layer, dA, dZ, the dZ it comes from, index of that W in the cache, index of D, index of A)."""


def _backward_form(trials: Sequence[Trial], layer: tuple) -> tuple[str, float | None] | None:
    """How the student's dA_l follows from Wᵀ·(their own dZ_{l+1}) on every main call: (form, fixed value)."""
    _, da_name, dz_name, upstream, w_index, d_index, a_index = layer
    calls = _main_calls(trials, 3)
    if not calls:
        return None
    forms: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
        "right": lambda base, D, p: base * D / p,
        "not-scaled": lambda base, D, p: base * D,
        "scaled-twice": lambda base, D, p: base * D / p ** 2,
        "mask-missing": lambda base, D, p: base / p,
        "unmasked": lambda base, D, p: base,
    }
    for name, form in forms.items():
        if all(_backward_fits(trial, p, layer, form) for trial, p in calls):
            if name == "unmasked":
                on_dz = all(_mask_on_dz(trial, p, layer) for trial, p in calls)
                return ("mask-on-dZ" if on_dz else "not-applied"), None
            return name, None
    fixed = []
    for trial, p in calls:
        base, D, got = _backward_values(trial, layer)
        if base is None or got is None or not np.any(base * D):
            return None
        ratio = float(np.vdot(base * D, got) / np.vdot(base * D, base * D))
        if not ratio or not _equal(got, base * D * ratio):
            return None
        fixed.append(1 / ratio)
    if same(fixed) and abs(fixed[0] - 1) > 1e-9 and not all(abs(c - p) < 1e-9 for c, (_, p) in zip(fixed, calls)):
        return "keep-prob-fixed", fixed[0]
    return None


def _backward_values(trial: Trial, layer: tuple) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    _, da_name, _, upstream, w_index, d_index, _ = layer
    cache = trial.probe.arguments[2]
    assert trial.got is not None
    dz = trial.got.values.get(upstream)
    base = cache[w_index].T @ dz if dz is not None and dz.shape[0] == cache[w_index].shape[0] else None
    return base, cache[d_index], trial.got.values.get(da_name)


def _backward_fits(trial: Trial, p: float, layer: tuple, form: Callable) -> bool:
    base, D, got = _backward_values(trial, layer)
    return base is not None and _equal(got, form(base, D, p))


def _mask_on_dz(trial: Trial, p: float, layer: tuple) -> bool:
    """dA_l left as Wᵀ·dZ, the mask and the scale applied to dZ_l instead: dZ_l is right."""
    base, D, _ = _backward_values(trial, layer)
    assert trial.got is not None and base is not None
    A = trial.probe.arguments[2][layer[6]]
    return _equal(trial.got.values.get(layer[2]), base * (A > 0) * D / p)


def _backward_detections(trials: Sequence[Trial], wanted: str) -> list[Detection]:
    detections = []
    for layer in BACKWARD_LAYERS:
        found = _backward_form(trials, layer)
        if found is None or found[0] != wanted:
            continue
        number, da_name, dz_name, upstream = layer[:4]
        mask = f"D{number}"
        text = {
            "not-scaled": f"your {da_name} is exactly (W{number + 1}ᵀ·{upstream})·{mask}: masked but not divided by "
                          "keep_prob, so it is keep_prob times too small",
            "scaled-twice": f"your {da_name} is exactly (W{number + 1}ᵀ·{upstream})·{mask}/keep_prob²: divided by "
                            "keep_prob twice",
            "mask-missing": f"your {da_name} is exactly (W{number + 1}ᵀ·{upstream})/keep_prob: scaled, but the units "
                            f"{mask} shut down in the forward pass get a gradient",
            "mask-on-dZ": f"your {da_name} is exactly W{number + 1}ᵀ·{upstream}, unmasked and unscaled, while your "
                          f"{dz_name} is right: the mask and 1/keep_prob went to {dz_name} instead of {da_name}",
            "not-applied": f"your {da_name} is exactly W{number + 1}ᵀ·{upstream}: neither masked with {mask} nor "
                           "divided by keep_prob",
            "keep-prob-fixed": f"your {da_name} is (W{number + 1}ᵀ·{upstream})·{mask} divided by {found[1] or 0:.3g} "
                               "on every probe, whatever keep_prob is passed",
        }[wanted]
        evidence = f"on every probe with keep_prob < 1, {text}".replace(" on every probe, whatever", ", whatever")
        details = {"output": da_name, "mask": mask, "dz": dz_name, "value": f"{found[1]:.3g}" if found[1] else ""}
        detections.append(Detection((da_name,), evidence, details, part="whole", given_upstream=True,
                                    absent=wanted != "scaled-twice",
                                    variable="keep_prob" if wanted == "keep-prob-fixed" else None))
    return detections


@detects("dropout-backward.not-scaled")
def backward_not_scaled(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dA_l = (Wᵀ·dZ)·D_l: the mask without /keep_prob (layer 2's gradients ×p, layer 1's ×p² when both are)."""
    return _backward_detections(trials, "not-scaled")


@detects("dropout-backward.scaled-twice")
def backward_scaled_twice(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dA_l divided by keep_prob twice."""
    return _backward_detections(trials, "scaled-twice")


@detects("dropout-backward.mask-missing")
def backward_mask_missing(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dA_l = (Wᵀ·dZ)/keep_prob: the units shut down forward get a gradient."""
    return _backward_detections(trials, "mask-missing")


@detects("dropout-backward.mask-on-dz")
def backward_mask_on_dz(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """The mask and 1/keep_prob applied to dZ_l instead of dA_l: dZ right, dA wrong."""
    return _backward_detections(trials, "mask-on-dZ")


@detects("dropout-backward.not-applied")
def backward_not_applied(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dA_l = Wᵀ·dZ: no mask and no 1/keep_prob (the backward pass without dropout; the dropout lines left out)."""
    return _backward_detections(trials, "not-applied")


@detects("dropout-backward.keep-prob-fixed")
def backward_keep_prob_fixed(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """dA_l divided by a fixed number instead of keep_prob."""
    return _backward_detections(trials, "keep-prob-fixed")
