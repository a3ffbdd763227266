"""Reference solutions for the dropout part of the Regularization assignment (inverted dropout on the two
hidden layers of LINEAR→RELU→LINEAR→RELU→LINEAR→SIGMOID).

The forward pass draws its masks as the course's notebook does (np.random.seed(1), then
np.random.rand for D1 and D2 in that order), which is what --strict-rng compares with; the
grader otherwise judges a student on their own masks, through `forward_with_masks`.
"""

from collections.abc import Callable

import numpy as np

from .provided import compute_cost, relu, sigmoid
from .solution import PARAMETER_KEYS


def forward_with_masks(X: np.ndarray, parameters: dict[str, np.ndarray], keep_prob: float,
                       D1: np.ndarray, D2: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The forward pass with dropout given the masks: A_l = relu(Z_l)·D_l / keep_prob on the hidden layers.

    Returns:
        ``(A3, cache)`` with cache ``(Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)``.
    """
    W1, b1, W2, b2, W3, b3 = (parameters[name] for name in PARAMETER_KEYS)
    Z1 = W1 @ X + b1
    A1 = relu(Z1) * D1 / keep_prob
    Z2 = W2 @ A1 + b2
    A2 = relu(Z2) * D2 / keep_prob
    Z3 = W3 @ A2 + b3
    A3 = sigmoid(Z3)
    return A3, (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)


def forward_propagation_with_dropout(X: np.ndarray, parameters: dict[str, np.ndarray],
                                     keep_prob: float = 0.5) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The forward pass with masks drawn as the course draws them: keep a unit where rand < keep_prob."""
    np.random.seed(1)
    n1, n2 = parameters["W1"].shape[0], parameters["W2"].shape[0]
    D1 = (np.random.rand(n1, X.shape[1]) < keep_prob).astype(int)
    D2 = (np.random.rand(n2, X.shape[1]) < keep_prob).astype(int)
    return forward_with_masks(X, parameters, keep_prob, D1, D2)


def backward_propagation_with_dropout(X: np.ndarray, Y: np.ndarray, cache: tuple[np.ndarray, ...],
                                      keep_prob: float) -> dict[str, np.ndarray]:
    """The gradients of the cross-entropy through the same masks: dA_l = (W_{l+1}ᵀ·dZ_{l+1})·D_l / keep_prob."""
    m = X.shape[1]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = dZ3 @ A2.T / m
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m
    dA2 = (W3.T @ dZ3) * D2 / keep_prob
    dZ2 = dA2 * (A2 > 0)
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dA1 = (W2.T @ dZ2) * D1 / keep_prob
    dZ1 = dA1 * (A1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def gradient_check_cost(
    X: np.ndarray, Y: np.ndarray, cache: tuple[np.ndarray, ...], keep_prob: float,
) -> tuple[dict[str, np.ndarray], Callable[[dict[str, np.ndarray]], float]]:
    """The parameters in the cache, and the cross-entropy of the forward pass as their function, masks held fixed.

    With the masks fixed, dropout is a fixed linear map on each hidden layer, so the
    cost is differentiable in the parameters and central differences check the backward pass.
    """
    (_, D1, _, W1, b1, _, D2, _, W2, b2, _, _, W3, b3) = cache
    parameters = {name: np.array(value, dtype=np.float64)
                  for name, value in zip(PARAMETER_KEYS, (W1, b1, W2, b2, W3, b3))}

    def cost(candidate: dict[str, np.ndarray]) -> float:
        A3, _ = forward_with_masks(X, candidate, keep_prob, D1, D2)
        return float(compute_cost(A3, Y))

    return parameters, cost
