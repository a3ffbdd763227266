"""Reference solutions for the L2 part of the Regularization assignment.

The grader loads this as a submodule of a package whose ``__path__`` is this folder, hence
the relative import of the provided helpers.
"""

from collections.abc import Callable

import numpy as np

from .provided import compute_cost, forward_propagation

GRADIENT_KEYS = ("dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1")
"""Keys of the dict returned by the backward pass, in backward order."""

PARAMETER_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")
"""Names of the trainable parameters of the 3-layer network."""


def compute_cost_with_regularization(A3: np.ndarray, Y: np.ndarray,
                                     parameters: dict[str, np.ndarray], lambd: float) -> float:
    """Return cross-entropy plus the L2 penalty (λ/2m)·Σ_l ‖W_l‖²_F.

    Args:
        A3: Sigmoid outputs, shape (1, m).
        Y: Labels in {0, 1}, shape (1, m).
        parameters: Holds at least ``W1``, ``W2`` and ``W3``; biases are not penalised.
        lambd: Regularization strength λ.

    Returns:
        The regularized cost.
    """
    m = Y.shape[1]
    squared_norms = sum(np.sum(np.square(parameters[f"W{layer}"])) for layer in (1, 2, 3))
    return float(compute_cost(A3, Y) + lambd / (2 * m) * squared_norms)


def penalty_parts(A3: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray], lambd: float) -> dict[str, float]:
    """The L2 penalty as one part per layer, (λ/2m)·‖W_l‖²: partial credit for a penalty missing layers."""
    m = Y.shape[1]
    return {f"W{layer}": float(lambd / (2 * m) * np.sum(np.square(parameters[f"W{layer}"]))) for layer in (1, 2, 3)}


def backward_propagation_with_regularization(X: np.ndarray, Y: np.ndarray,
                                             cache: tuple[np.ndarray, ...],
                                             lambd: float) -> dict[str, np.ndarray]:
    """Return the gradients of :func:`compute_cost_with_regularization` for the 3-layer net.

    Args:
        X: Inputs, shape (n_x, m).
        Y: Labels, shape (1, m).
        cache: ``(Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)`` from
            ``forward_propagation(X, parameters)``.
        lambd: Regularization strength λ.

    Returns:
        Gradients under the keys in :data:`GRADIENT_KEYS`.
    """
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache

    # d/dW of (λ/2m)‖W‖²_F is (λ/m)·W; only the dW lines change. db carries no penalty.
    dZ3 = A3 - Y
    dW3 = dZ3 @ A2.T / m + lambd / m * W3
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m

    dA2 = W3.T @ dZ3
    # A > 0 exactly where Z > 0, so the post-activation serves as the ReLU mask.
    dZ2 = dA2 * (A2 > 0)
    dW2 = dZ2 @ A1.T / m + lambd / m * W2
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m

    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)
    dW1 = dZ1 @ X.T / m + lambd / m * W1
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m

    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3,
        "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
        "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }


def gradient_check_cost(
    X: np.ndarray, Y: np.ndarray, cache: tuple[np.ndarray, ...], lambd: float,
) -> tuple[dict[str, np.ndarray], Callable[[dict[str, np.ndarray]], float]]:
    """Return the parameters stored in ``cache`` and the regularized cost as their function.

    The grader perturbs the returned parameters one entry at a time and compares central
    differences of the cost with the dW/db a submission returns for the same arguments.

    Args:
        X: Inputs, shape (n_x, m).
        Y: Labels, shape (1, m).
        cache: The cache passed to the backward function.
        lambd: Regularization strength λ.

    Returns:
        ``(parameters, cost)``: copies of ``W1, b1, W2, b2, W3, b3`` and a function mapping
        such a dict to the regularized cost of a forward pass over ``X``.
    """
    (_, _, W1, b1, _, _, W2, b2, _, _, W3, b3) = cache
    # Copies, so perturbing them cannot alter the cache the submission is also given.
    parameters = {
        name: np.array(value, dtype=np.float64)
        for name, value in zip(PARAMETER_KEYS, (W1, b1, W2, b2, W3, b3))
    }

    def cost(candidate: dict[str, np.ndarray]) -> float:
        A3, _ = forward_propagation(X, candidate)
        return compute_cost_with_regularization(A3, Y, candidate, lambd)

    return parameters, cost
