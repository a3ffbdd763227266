"""Seeded probes for the Gradient Checking assignment.

What they are built to tell apart (see mistakes.py):

- gradient_check (1-D): the notebook's J = θ·x is linear, and on a linear J a check that never
  calls forward_propagation at θ ± ε, or that perturbs x, still returns the right number. So the
  probes also put a cubic and a sine J in place of forward_propagation, and backward passes with a
  bug in place of backward_propagation (one whose dθ has the wrong sign, so that ‖g + ĝ‖ differs
  from ‖g‖ + ‖ĝ‖). ε ranges from the notebook's 1e-7 to 0.1, where a one-sided difference, a
  precedence slip (…/2*ε) or (J⁺ + J⁻) no longer look like the right number.
- gradient_check_n: the gradients to check come from backward passes with bugs in different
  parameters (the course's two planted bugs, one of them, a bug in dW1 only, one in the last
  parameter b3): a check over the last entry only is right only where b3's gradient is. Networks
  of several shapes (square W1 and X among them), m from 1 to 7, ε from 1e-7 to 0.1.

Every call rebuilds the same arrays from fixed seeds.
"""

from typing import Any, NamedTuple

import numpy as np

from . import provided
from .solution import backward_propagation_n as right_backward

Probe = dict[str, Any]


# ---- 1-D ---------------------------------------------------------------------------------------


def _one_d(name: str, x: float, theta: float, epsilon: float, forward=None, backward=None) -> Probe:
    replacements = {"forward_propagation": forward or provided.forward_propagation,
                    "backward_propagation": backward or provided.backward_propagation}
    return {"name": name, "arguments": (x, theta, epsilon), "replacements": replacements}


def gradient_check_probes() -> list[Probe]:
    """For gradient_check(x, theta, epsilon): the notebook's tests, then other costs and wrong derivatives."""
    return [
        _one_d("the notebook's test, J = θ·x, x = 3, θ = 4", 3, 4, 1e-7),
        _one_d("J = θ·x, x = 2, θ = 4", 2, 4, 1e-7),
        _one_d("J = θ·x with a wrong dθ (x + 1), x = -0.4, θ = 2.5", -0.4, 2.5, 1e-7,
               backward=provided.backward_propagation_off_by_one),
        _one_d("J = θ³·x, x = -1.3, θ = 0.7, ε = 1e-4", -1.3, 0.7, 1e-4, provided.cubic_forward,
               provided.cubic_backward),
        _one_d("J = θ³·x with a wrong dθ (θ²·x), x = 0.8, θ = 1.9, ε = 1e-3", 0.8, 1.9, 1e-3,
               provided.cubic_forward, provided.cubic_backward_wrong),
        _one_d("J = θ³·x, x = 0.5, θ = -1.2, ε = 0.1", 0.5, -1.2, 0.1, provided.cubic_forward,
               provided.cubic_backward),
        _one_d("J = sin(θ·x), x = 2.5, θ = 0.3, ε = 0.01", 2.5, 0.3, 1e-2, provided.sine_forward,
               provided.sine_backward),
        _one_d("J = sin(θ·x), x = -0.7, θ = 1.1, ε = 0.1", -0.7, 1.1, 0.1, provided.sine_forward,
               provided.sine_backward),
    ]


def forward_propagation_probes() -> list[Probe]:
    """For forward_propagation(x, theta) and backward_propagation(x, theta)."""
    return [{"name": f"x = {x:g}, θ = {theta:g}", "arguments": (x, theta)}
            for x, theta in ((3, 4), (2.0, -1.5), (-0.7, 0.25), (12.5, 0.0), (-3.0, -2.0))]


# ---- N-dimensional -------------------------------------------------------------------------


class _Network(NamedTuple):
    """One network the n-dimensional probes use, and what its gradients get wrong."""

    name: str
    layer_sizes: tuple[int, int, int, int]
    m: int
    seed: int
    epsilon: float
    bugs: tuple[str, ...]
    """Which gradients are wrong, as the course's backward pass has them (dW2, db1) or others (dW1, db3)."""


_NETWORKS = (
    _Network("square layers 3-3-3-1 and square X (3x3), a bug in dW1 only", (3, 3, 3, 1), 3, 201, 1e-5, ("dW1",)),
    _Network("layers 2-4-2-1, m = 7, the backward pass right", (2, 4, 2, 1), 7, 202, 1e-3, ()),
    _Network("layers 5-2-4-1, one example (m = 1), the course's two bugs", (5, 2, 4, 1), 1, 203, 1e-2,
             ("dW2", "db1")),
    _Network("layers 4-4-2-1, m = 5, only db1's bug left", (4, 4, 2, 1), 5, 204, 0.1, ("db1",)),
    _Network("layers 4-5-3-1, m = 6, only dW2's bug left", (4, 5, 3, 1), 6, 205, 1e-4, ("dW2",)),
    _Network("layers 3-3-3-1, m = 4, a bug in db3 (the last parameter) only", (3, 3, 3, 1), 4, 206, 1e-6,
             ("db3",)),
)

_BUGS = {
    "dW2": lambda gradients, m: gradients["dW2"] * 2,  # the course's: an extra 2
    "db1": lambda gradients, m: gradients["db1"] * 4,  # the course's: 4./m instead of 1./m
    "dW1": lambda gradients, m: gradients["dW1"] * 3,
    "db3": lambda gradients, m: gradients["db3"] - 0.5,
}


def _gradients(X, Y, cache, bugs: tuple[str, ...]) -> dict[str, np.ndarray]:
    gradients = right_backward(X, Y, cache)
    for bug in bugs:
        gradients[bug] = _BUGS[bug](gradients, X.shape[1])
    return gradients


def _draw(network: _Network) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Parameters, X and Y (1, m) with both labels when m ≥ 2, ReLUs neither all dead nor all alive."""
    for attempt in range(1000):
        rng = np.random.default_rng((network.seed, attempt))
        sizes = network.layer_sizes
        parameters = {}
        for layer in (1, 2, 3):
            parameters[f"W{layer}"] = rng.standard_normal((sizes[layer], sizes[layer - 1]))
            parameters[f"b{layer}"] = rng.standard_normal((sizes[layer], 1)) * 0.5
        X = rng.standard_normal((sizes[0], network.m))
        Y = rng.integers(0, 2, (1, network.m)).astype(np.float64)
        _, cache = provided.forward_propagation_n(X, Y, parameters)
        Z1, Z2, A3 = cache[0], cache[4], cache[9]
        alive = np.concatenate([(Z1 > 0).ravel(), (Z2 > 0).ravel()])
        if (network.m == 1 or 0 < Y.sum() < network.m) and 0.2 < alive.mean() < 0.8 \
                and min(np.abs(Z1).min(), np.abs(Z2).min()) > 0.05 and 0.05 < A3.min() and A3.max() < 0.95:
            return parameters, X, Y
    raise RuntimeError(f"no draw of {network.name!r} meets the probe constraints")  # pragma: no cover


def gradient_check_n_probes() -> list[Probe]:
    """For gradient_check_n(parameters, gradients, X, Y, epsilon)."""
    X, Y, parameters = provided.gradient_check_n_test_case()
    _, cache = provided.forward_propagation_n(X, Y, parameters)
    course = "the notebook's test case (layers 4-5-3-1, m = 3)"
    probes = [
        {"name": f"{course}, the course's backward pass (its two bugs)",
         "arguments": (parameters, provided.backward_propagation_n(X, Y, cache), X, Y, 1e-7)},
        {"name": f"{course}, the backward pass fixed", "arguments": (parameters, right_backward(X, Y, cache), X, Y,
                                                                     1e-7)},
    ]
    for network in _NETWORKS:
        parameters, X, Y = _draw(network)
        _, cache = provided.forward_propagation_n(X, Y, parameters)
        probes.append({"name": f"{network.name}, ε = {network.epsilon:g}",
                       "arguments": (parameters, _gradients(X, Y, cache, network.bugs), X, Y, network.epsilon)})
    return probes


def forward_propagation_n_probes() -> list[Probe]:
    """For forward_propagation_n(X, Y, parameters): the test case and every network."""
    X, Y, parameters = provided.gradient_check_n_test_case()
    probes = [{"name": "the notebook's test case (layers 4-5-3-1, m = 3)", "arguments": (X, Y, parameters)}]
    for network in _NETWORKS:
        parameters, X, Y = _draw(network)
        probes.append({"name": f"layers {'-'.join(map(str, network.layer_sizes))}, m = {network.m}",
                       "arguments": (X, Y, parameters)})
    return probes


def backward_propagation_n_probes() -> list[Probe]:
    """For backward_propagation_n(X, Y, cache): caches from the provided forward pass."""
    probes = []
    for probe in forward_propagation_n_probes():
        X, Y, parameters = probe["arguments"]
        _, cache = provided.forward_propagation_n(X, Y, parameters)
        probes.append({"name": probe["name"], "arguments": (X, Y, cache)})
    return probes
