"""Seeded probes for the two dropout functions.

Shapes square and not, m from 5 to 250, keep_prob 1.0 (no dropout), the course's 0.7, 0.8 and
0.86, and 0.5, 0.6, 0.9; two large probes (5,000 to 10,000 units a layer) where the share a
mask keeps says something: a mask drawn from randn keeps Φ(p) of the units, one compared
the wrong way 1 − p, a fixed keep_prob the same share whatever p is.

The backward probes' caches come from the reference forward pass with masks drawn here, so the
grader knows the masks; each mask keeps some units and drops some.
"""

from typing import Any, NamedTuple

import numpy as np

from .dropout import forward_with_masks

Probe = dict[str, Any]
_MIN_ABS_Z = 0.02  # central differences must not straddle a ReLU kink
_A3_RANGE = (0.02, 0.98)
_ATTEMPTS = 200


class _Layout(NamedTuple):
    name: str
    layer_dims: tuple[int, int, int, int]
    m: int
    keep_prob: float
    seed: int
    large: bool = False


_FORWARD = (
    _Layout("small fixed case (layers 3-2-3-1, m=5)", (3, 2, 3, 1), 5, 0.7, 300),
    _Layout("layers 4-5-3-1, m=7", (4, 5, 3, 1), 7, 0.8, 301),
    _Layout("square W2 (4x4), m=6", (3, 4, 4, 1), 6, 0.86, 302),
    _Layout("layers 2-6-6-1, m=9", (2, 6, 6, 1), 9, 0.6, 303),
    _Layout("no dropout, layers 3-4-2-1, m=8", (3, 4, 2, 1), 8, 1.0, 304),
    _Layout("large: layers 5-40-20-1, m=250", (5, 40, 20, 1), 250, 0.7, 305, large=True),
    _Layout("large: layers 4-20-40-1, m=250", (4, 20, 40, 1), 250, 0.5, 306, large=True),
)
_BACKWARD = (
    _Layout("small fixed case (layers 3-2-3-1, m=5)", (3, 2, 3, 1), 5, 0.8, 400),
    _Layout("layers 4-5-3-1, m=7", (4, 5, 3, 1), 7, 0.7, 401),
    _Layout("square W1 and W2 (3x3), m=10", (3, 3, 3, 1), 10, 0.86, 402),
    _Layout("layers 5-4-6-1, m=6", (5, 4, 6, 1), 6, 0.5, 403),
    _Layout("square W2 (5x5), m=12", (2, 5, 5, 1), 12, 0.6, 404),
    _Layout("no dropout (all units kept), layers 3-4-2-1, m=8", (3, 4, 2, 1), 8, 1.0, 405),
    _Layout("layers 6-8-4-1, m=15", (6, 8, 4, 1), 15, 0.9, 406),
)


def forward_probes() -> list[Probe]:
    """Probes for ``forward_propagation_with_dropout(X, parameters, keep_prob)``."""
    probes = []
    for layout in _FORWARD:
        X, _, parameters, _ = _draw(layout)
        probes.append({"name": layout.name, "arguments": (X, parameters, layout.keep_prob)})
    return probes


def backward_probes() -> list[Probe]:
    """Probes for ``backward_propagation_with_dropout(X, Y, cache, keep_prob)``: caches made with known masks."""
    probes = []
    for layout in _BACKWARD:
        X, Y, parameters, masks = _draw(layout)
        _, cache = forward_with_masks(X, parameters, layout.keep_prob, *masks)
        probes.append({"name": layout.name, "arguments": (X, Y, cache, layout.keep_prob)})
    return probes


def _draw(layout: _Layout) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The first seeded draw of (X, Y, parameters, masks) that meets the constraints of the layout."""
    for attempt in range(_ATTEMPTS):
        rng = np.random.default_rng((layout.seed, attempt))
        parameters = _parameters(rng, layout.layer_dims)
        X = rng.standard_normal((layout.layer_dims[0], layout.m))
        Y = rng.integers(0, 2, (1, layout.m)).astype(np.float64)
        masks = tuple((rng.random((size, layout.m)) < layout.keep_prob).astype(np.int64)
                      for size in layout.layer_dims[1:3])
        A3, cache = forward_with_masks(X, parameters, layout.keep_prob, *masks)
        if _acceptable(layout, Y, A3, cache, masks):
            return X, Y, parameters, (masks[0], masks[1])
    raise RuntimeError(f"no acceptable draw for the probe {layout.name!r}")  # pragma: no cover


def _parameters(rng: np.random.Generator, layer_dims: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Weights of both signs scaled by the fan-in (large layers stay out of saturation), non-zero biases."""
    parameters = {}
    for layer in range(1, len(layer_dims)):
        fan_in = layer_dims[layer - 1]
        shape = (layer_dims[layer], fan_in)
        scale = 1.6 / np.sqrt(fan_in)
        parameters[f"W{layer}"] = rng.uniform(0.2, 1.0, shape) * scale * rng.choice((-1.0, 1.0), shape)
        shape = (layer_dims[layer], 1)
        parameters[f"b{layer}"] = rng.uniform(0.1, 0.5, shape) * rng.choice((-1.0, 1.0), shape)
    return parameters


def _acceptable(layout: _Layout, Y: np.ndarray, A3: np.ndarray, cache: tuple, masks: tuple) -> bool:
    if layout.m > 1 and not 0 < Y.sum() < layout.m:
        return False
    if not (_A3_RANGE[0] < A3.min() and A3.max() < _A3_RANGE[1]):
        return False
    Z1, Z2 = cache[0], cache[5]
    if not layout.large and min(np.abs(Z1).min(), np.abs(Z2).min()) < _MIN_ABS_Z:
        return False
    if layout.keep_prob < 1:  # every mask keeps some units and drops some
        return all(0 < mask.sum() < mask.size for mask in masks)
    return True
