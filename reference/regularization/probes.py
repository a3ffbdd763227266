"""Seeded probe inputs for the two L2-regularization functions.

Each probe is ``{"name": str, "arguments": tuple}`` with the arguments in the graded
function's parameter order. The set is built to tell the catalogued mistakes apart: layer
sizes with square and non-square weights (a transposed W only fails silently when square;
another layer's W only fits when shapes agree), m = 1 and many m != 1 (``Y.shape[0]`` is 1),
λ = 0 (separates backprop bugs from L2 bugs) and values other than the course's 0.1/0.7
(hard-coded λ), non-zero biases (penalised biases), weights of both signs whose sums differ
between probes and are far from zero (a λ/m·ΣW term is never accidentally zero).

Every call rebuilds the same arrays from fixed seeds, so probes are reproducible and a
submission that mutates them cannot affect the next call.
"""

from typing import Any, NamedTuple

import numpy as np

from .provided import forward_propagation

Probe = dict[str, Any]


class _Layout(NamedTuple):
    """Shape and hyper-parameters of one generated probe."""

    name: str
    layer_dims: tuple[int, int, int, int]
    m: int
    lambd: float
    seed: int
    cost_attempt: int = 0
    backward_attempt: int = 0
    """The first draw (seeded by (seed, attempt)) that meets the constraints below, found once by
    `first_valid_attempts()` and written here, so loading the probes is one draw, not a search."""


# Layers are (n_x, n_1, n_2, 1). Names say what each probe is there to exercise.
_LAYOUTS = (
    _Layout("layers 4-5-3-1, m=7", (4, 5, 3, 1), 7, 1.7, 101, 0, 11),
    _Layout("square W1 and W2 (3x3), m=10", (3, 3, 3, 1), 10, 0.35, 102, 0, 3),
    _Layout("square W2 (4x4), W1 4x2, m=3", (2, 4, 4, 1), 3, 3.0, 103, 0, 17),
    _Layout("no regularization, layers 5-4-2-1, m=13", (5, 4, 2, 1), 13, 0.0, 104, 4, 6),
    _Layout("one example, square W2 (3x3), m=1", (2, 3, 3, 1), 1, 1.2, 105, 1, 2),
    _Layout("two examples, layers 6-4-5-1, m=2", (6, 4, 5, 1), 2, 0.05, 106, 1, 12),
    _Layout("square W2 (6x6), W1 6x2, m=15", (2, 6, 6, 1), 15, 2.5, 107, 0, 35),
    _Layout("1x1 W3, layers 3-2-1-1, m=4", (3, 2, 1, 1), 4, 0.9, 108, 2, 16),
    _Layout("no regularization, square W1 (4x4), m=6", (4, 4, 2, 1), 6, 0.0, 109, 0, 7),
)

_FIXED_NAME = "small fixed case (layers 3-2-3-1, m=5)"
_FIXED_LAMBD = 0.7

# Rejection-sampling limits. |Z| stays well away from the ReLU kink so central differences
# (epsilon around 1e-6) never straddle it; sums of weights stay away from zero.
_MIN_ABS_Z = 0.02
_MIN_ABS_WEIGHT_SUM = 0.2
_A3_RANGE = (0.03, 0.97)
_ACTIVE_FRACTION_RANGE = (0.2, 0.8)
_MAX_ATTEMPTS = 10_000  # for first_valid_attempts(): the limits above are loose enough


def cost_probes() -> list[Probe]:
    """Return probes for ``compute_cost_with_regularization(A3, Y, parameters, lambd)``."""
    return [{"name": _FIXED_NAME, "arguments": _fixed_cost_arguments()},
            *_generated(_cost_draw, lambda layout: layout.cost_attempt)]


def _generated(draw, attempt_of) -> list[Probe]:
    """One probe per layout, from its recorded draw; a draw that breaks the constraints is a bug here."""
    probes = []
    for layout in _LAYOUTS:
        arguments = draw(layout, attempt_of(layout))
        if arguments is None:
            raise RuntimeError(f"probe {layout.name!r} violates the probe constraints")
        probes.append({"name": layout.name, "arguments": arguments})
    return probes


def _cost_draw(layout: _Layout, attempt: int) -> tuple | None:
    # A different seed from the backward probe of the same layout: the two lists
    # should not share weights, so a coincidence in one cannot hide in both.
    rng = np.random.default_rng((layout.seed + 1000, attempt))
    parameters = _draw_parameters(rng, layout.layer_dims)
    if not _weight_sums_ok(parameters):
        return None
    A3 = rng.uniform(*_A3_RANGE, size=(1, layout.m))
    return A3, _draw_labels(rng, layout.m), parameters, layout.lambd


def _backward_draw(layout: _Layout, attempt: int) -> tuple | None:
    rng = np.random.default_rng((layout.seed, attempt))
    parameters = _draw_parameters(rng, layout.layer_dims)
    X = rng.standard_normal((layout.layer_dims[0], layout.m))
    _, cache = forward_propagation(X, parameters)
    if not (_weight_sums_ok(parameters) and _activations_ok(cache, layout.m)):
        return None
    return X, _draw_labels(rng, layout.m), cache, layout.lambd


def first_valid_attempts() -> list[tuple[str, int, int]]:
    """(name, cost attempt, backward attempt) of the first draws meeting the constraints, per layout.

    Used once to fill in `_LAYOUTS`, and by the tests to check what is written there.
    """
    def first(draw, layout: _Layout) -> int:
        return next(attempt for attempt in range(_MAX_ATTEMPTS) if draw(layout, attempt) is not None)

    return [(layout.name, first(_cost_draw, layout), first(_backward_draw, layout)) for layout in _LAYOUTS]


def backward_probes() -> list[Probe]:
    """Return probes for ``backward_propagation_with_regularization(X, Y, cache, lambd)``.

    Each cache comes from the provided ``forward_propagation`` on the probe's own X and
    parameters, so it is consistent and the gradient check applies.
    """
    X, Y, parameters = _fixed_backward_inputs()
    _, cache = forward_propagation(X, parameters)
    # The hand-picked numbers must meet the same constraints as the generated ones.
    if not (_weight_sums_ok(parameters) and _activations_ok(cache, X.shape[1])):  # pragma: no cover
        raise RuntimeError("the fixed backward probe violates the probe constraints")
    return [{"name": _FIXED_NAME, "arguments": (X, Y, cache, _FIXED_LAMBD)},
            *_generated(_backward_draw, lambda layout: layout.backward_attempt)]


def _fixed_parameters() -> dict[str, np.ndarray]:
    """Return hand-picked 3-2-3-1 weights (mixed signs, non-zero biases)."""
    return {
        "W1": np.array([[0.9, -0.5, 0.4],
                        [-0.3, 1.1, -0.8]]),
        "b1": np.array([[0.2], [-0.1]]),
        "W2": np.array([[1.3, -0.7],
                        [-0.6, 0.8],
                        [0.5, 0.9]]),
        "b2": np.array([[-0.2], [0.3], [-0.4]]),
        "W3": np.array([[0.8, -1.1, 0.9]]),
        "b3": np.array([[0.1]]),
    }


def _fixed_cost_arguments() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], float]:
    """Return the hand-picked cost probe: five predictions, both classes."""
    A3 = np.array([[0.82, 0.27, 0.64, 0.11, 0.55]])
    Y = np.array([[1.0, 0.0, 1.0, 0.0, 0.0]])
    return A3, Y, _fixed_parameters(), _FIXED_LAMBD


def _fixed_backward_inputs() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Return hand-picked ``(X, Y, parameters)`` for five examples."""
    X = np.array([[1.2, -0.4, 0.3, -1.1, 0.8],
                  [-0.6, 0.9, 1.5, 0.2, -1.3],
                  [0.5, -1.4, -0.2, 0.7, 1.0]])
    Y = np.array([[1.0, 0.0, 1.0, 0.0, 1.0]])
    return X, Y, _fixed_parameters()


def _draw_parameters(rng: np.random.Generator,
                     layer_dims: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Draw weights and biases with random signs and magnitudes bounded away from zero."""
    parameters = {}
    for layer in range(1, len(layer_dims)):
        shape = (layer_dims[layer], layer_dims[layer - 1])
        parameters[f"W{layer}"] = _signed(rng, shape, 0.2, 1.6)
        parameters[f"b{layer}"] = _signed(rng, (layer_dims[layer], 1), 0.1, 0.8)
    return parameters


def _signed(rng: np.random.Generator, shape: tuple[int, int], low: float,
            high: float) -> np.ndarray:
    """Draw magnitudes uniformly in [low, high) and give each a random sign."""
    return rng.uniform(low, high, shape) * rng.choice((-1.0, 1.0), shape)


def _draw_labels(rng: np.random.Generator, m: int) -> np.ndarray:
    """Draw binary labels of shape (1, m), with both classes present when m >= 2."""
    while True:
        Y = rng.integers(0, 2, (1, m)).astype(np.float64)
        if m == 1 or 0 < Y.sum() < m:
            return Y


def _weight_sums_ok(parameters: dict[str, np.ndarray]) -> bool:
    """Whether every W has a sum far from zero and, if it has several entries, both signs."""
    for layer in (1, 2, 3):
        W = parameters[f"W{layer}"]
        if abs(W.sum()) < _MIN_ABS_WEIGHT_SUM:
            return False
        if W.size > 1 and not (W.min() < 0 < W.max()):
            return False
    return True


def _activations_ok(cache: tuple[np.ndarray, ...], m: int) -> bool:
    """Whether the hidden ReLUs are neither all dead nor all alive, and away from the kink.

    For m >= 2 at least half the units of each hidden layer must be active on some
    examples and inactive on others, so the ReLU derivative actually matters.
    """
    Z1, Z2, A3 = cache[0], cache[4], cache[9]
    if not (_A3_RANGE[0] < A3.min() and A3.max() < _A3_RANGE[1]):
        return False
    for Z in (Z1, Z2):
        if np.abs(Z).min() < _MIN_ABS_Z:
            return False
        active = Z > 0
        if not _ACTIVE_FRACTION_RANGE[0] <= active.mean() <= _ACTIVE_FRACTION_RANGE[1]:
            return False
        if m >= 2:
            mixed_units = np.sum(active.any(axis=1) & ~active.all(axis=1))
            if 2 * mixed_units < Z.shape[0]:
                return False
    return True
