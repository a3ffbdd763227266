"""Reference solutions for the Gradient Checking assignment.

`gradient_check` and `gradient_check_n` receive the functions their exercise replaces as keyword
arguments (the probes choose them: a non-linear J, a backward pass with a bug), exactly as a
student's code calls them by name.
"""

from collections.abc import Callable

import numpy as np

from . import provided


def forward_propagation(x, theta):
    """J(θ) = θ·x."""
    return theta * x


def backward_propagation(x, theta):
    """dJ/dθ = x."""
    return x


def gradient_check(x, theta, epsilon=1e-7, *, forward_propagation=provided.forward_propagation,
                   backward_propagation=provided.backward_propagation):
    """‖grad − gradapprox‖ / (‖grad‖ + ‖gradapprox‖), gradapprox the central difference of J at θ."""
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def forward_propagation_n(X, Y, parameters):
    """The notebook's given forward pass and cost (students should leave it as it is)."""
    return provided.forward_propagation_n(X, Y, parameters)


def backward_propagation_n(X, Y, cache):
    """The backward pass with the course's two planted bugs fixed (dW2 without the 2, db1 with 1/m)."""
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = dZ3 @ A2.T / m
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m
    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (A2 > 0)
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, *,
                     forward_propagation_n=provided.forward_propagation_n):
    """The relative difference between `gradients` and central differences of the cost, over every parameter."""
    theta, _ = provided.dictionary_to_vector(parameters)
    grad = provided.gradients_to_vector(gradients)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = np.copy(theta), np.copy(theta)
        plus[i, 0] += epsilon
        minus[i, 0] -= epsilon
        cost_plus, _ = forward_propagation_n(X, Y, provided.vector_to_dictionary(plus))
        cost_minus, _ = forward_propagation_n(X, Y, provided.vector_to_dictionary(minus))
        gradapprox[i, 0] = (cost_plus - cost_minus) / (2 * epsilon)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


# ---- for the numerical gradient checks of the two backward passes --------------------------


def backward_propagation_cost(x, theta):
    """For backward_propagation's gradient check: θ, and J(θ) = θ·x as its function."""
    return {"theta": np.array(float(theta))}, lambda parameters: float(parameters["theta"] * x)


def backward_propagation_n_cost(X, Y, cache) -> tuple[dict[str, np.ndarray], Callable[[dict], float]]:
    """For backward_propagation_n's gradient check: the parameters in `cache`, and the cost as their function."""
    (_, _, W1, b1, _, _, W2, b2, _, _, W3, b3) = cache
    parameters = {name: np.array(value, dtype=np.float64)
                  for name, value in zip(provided.PARAMETER_KEYS, (W1, b1, W2, b2, W3, b3))}
    return parameters, lambda candidate: float(provided.forward_propagation_n(X, Y, candidate)[0])
