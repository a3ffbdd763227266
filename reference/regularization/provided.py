"""Helpers the Regularization assignment gives to students, rewritten for the grader.

Student notebooks import these from course modules (``reg_utils``, ``testCases``,
``public_tests``, ...) that are not installed here; the grader serves this file under
those names. It therefore imports only numpy and the standard library at module level.

There is deliberately no ``__all__``: the course modules export everything, including
``np``, and a notebook that relies on ``from reg_utils import *`` for numpy should keep
working.

Array conventions follow the course: examples are columns, so ``X`` has shape
``(n_x, m)`` and ``Y``/``A3`` have shape ``(1, m)``.
"""

from collections.abc import Callable as _Callable

import numpy as np

# Underscored so that `from reg_utils import *` does not add them to a student's notebook.
_Parameters = dict[str, np.ndarray]
_Cache = tuple[np.ndarray, ...]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Return the logistic function 1 / (1 + exp(-x)), element-wise."""
    return 1.0 / (1.0 + np.exp(-x))


def relu(x: np.ndarray) -> np.ndarray:
    """Return max(0, x), element-wise."""
    return np.maximum(0, x)


def compute_cost(a3: np.ndarray, Y: np.ndarray) -> float:
    """Return the mean binary cross-entropy of predictions ``a3`` against labels ``Y``.

    Args:
        a3: Sigmoid outputs, shape (1, m).
        Y: Labels in {0, 1}, shape (1, m).

    Returns:
        The cost averaged over the m columns.
    """
    m = Y.shape[1]
    # nansum, as in the course: a prediction of exactly 0 or 1 gives 0 * log(0) = nan for
    # the term whose label weight is zero, and that term should count as 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        losses = -(Y * np.log(a3) + (1 - Y) * np.log(1 - a3))
    return float(np.nansum(losses) / m)


def forward_propagation(X: np.ndarray, parameters: _Parameters) -> tuple[np.ndarray, _Cache]:
    """Run LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID on ``X``.

    Args:
        X: Inputs, shape (n_x, m).
        parameters: ``W1, b1, W2, b2, W3, b3`` with W_l of shape (n_l, n_{l-1}) and b_l of
            shape (n_l, 1).

    Returns:
        ``(A3, cache)`` where A3 has shape (1, m) and cache is
        ``(Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)``.
    """
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]

    Z1 = W1 @ X + b1
    A1 = relu(Z1)
    Z2 = W2 @ A1 + b2
    A2 = relu(Z2)
    Z3 = W3 @ A2 + b3
    A3 = sigmoid(Z3)
    return A3, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)


def backward_propagation(X: np.ndarray, Y: np.ndarray, cache: _Cache) -> dict[str, np.ndarray]:
    """Return the gradients of :func:`compute_cost` for the 3-layer network (no penalty).

    Args:
        X: Inputs, shape (n_x, m).
        Y: Labels, shape (1, m).
        cache: The cache returned by :func:`forward_propagation` for ``X``.

    Returns:
        Gradients under the keys ``dZ3 dW3 db3 dA2 dZ2 dW2 db2 dA1 dZ1 dW1 db1``.
    """
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache

    # For sigmoid + cross-entropy, dJ/dZ3 is A3 - Y per example; the 1/m of the mean is
    # applied to the parameter gradients only, as the course does.
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

    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3,
        "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
        "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }


def initialize_parameters(layer_dims: list[int]) -> _Parameters:
    """Return weights scaled by 1/sqrt(fan-in) and zero biases for ``layer_dims``.

    Args:
        layer_dims: Sizes of every layer, input first, e.g. ``[2, 20, 3, 1]``.

    Returns:
        ``W1, b1, ..., WL, bL`` with W_l of shape (n_l, n_{l-1}) and b_l of shape (n_l, 1).
    """
    # A private, fixed-seed generator: training runs are reproducible and the student's
    # own use of np.random is left untouched.
    rng = np.random.default_rng(3)
    parameters: _Parameters = {}
    for layer in range(1, len(layer_dims)):
        fan_in = layer_dims[layer - 1]
        parameters[f"W{layer}"] = rng.standard_normal((layer_dims[layer], fan_in)) / np.sqrt(fan_in)
        parameters[f"b{layer}"] = np.zeros((layer_dims[layer], 1))
    return parameters


def update_parameters(parameters: _Parameters, grads: dict[str, np.ndarray],
                      learning_rate: float) -> _Parameters:
    """Take one gradient-descent step: W_l -= learning_rate * dW_l, same for b_l.

    Args:
        parameters: ``W1, b1, ...``; the dict is updated with new arrays and returned.
        grads: Must hold ``dW_l`` and ``db_l`` for every layer in ``parameters``.
        learning_rate: Step size.

    Returns:
        ``parameters`` with the updated arrays.
    """
    for layer in range(1, len(parameters) // 2 + 1):
        for name in (f"W{layer}", f"b{layer}"):
            parameters[name] = parameters[name] - learning_rate * grads["d" + name]
    return parameters


def predict(X: np.ndarray, y: np.ndarray, parameters: _Parameters) -> np.ndarray:
    """Classify the columns of ``X``, print the accuracy against ``y`` and return the labels.

    Args:
        X: Inputs, shape (n_x, m).
        y: Labels, shape (1, m).
        parameters: Trained ``W1, b1, W2, b2, W3, b3``.

    Returns:
        Predicted labels in {0, 1}, shape (1, m).
    """
    A3, _ = forward_propagation(X, parameters)
    predictions = (A3 > 0.5).astype(int)
    print("Accuracy: " + str(np.mean(predictions[0, :] == y[0, :])))
    return predictions


def predict_dec(parameters: _Parameters, X: np.ndarray) -> np.ndarray:
    """Return boolean class decisions (A3 > 0.5) for the columns of ``X``; used for plots."""
    A3, _ = forward_propagation(X, parameters)
    return A3 > 0.5


def load_2D_dataset() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return a synthetic 2-D binary dataset as ``(train_X, train_Y, test_X, test_Y)``.

    The course ships a data file that is not available here, so this draws points of the
    same shapes and flavour (a noisy diagonal boundary) from a fixed seed.

    Returns:
        train_X (2, 211), train_Y (1, 211), test_X (2, 200), test_Y (1, 200).
    """
    rng = np.random.default_rng(2)

    def draw(count: int) -> tuple[np.ndarray, np.ndarray]:
        X = np.vstack([rng.uniform(-0.75, 0.40, count), rng.uniform(-0.75, 0.65, count)])
        # A diagonal boundary with a gentle wave, plus label noise near it, so that an
        # unregularized network has something to overfit.
        margin = X[1] - X[0] + 0.08 * np.sin(9 * X[0]) + rng.normal(0, 0.08, count)
        Y = (margin > 0).astype(float).reshape(1, count)
        return X, Y

    train_X, train_Y = draw(211)
    test_X, test_Y = draw(200)
    return train_X, train_Y, test_X, test_Y


def plot_decision_boundary(model: _Callable[[np.ndarray], np.ndarray], X: np.ndarray,
                           y: np.ndarray) -> None:
    """Draw the regions ``model`` assigns to each class with the points of ``X`` on top.

    Args:
        model: Maps an (k, 2) array of points to k class decisions.
        X: Points, shape (2, m).
        y: Labels, shape (1, m).
    """
    # Imported here so the module itself stays numpy-only; without matplotlib (as in
    # the grader) plotting is silently skipped.
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    x_min, x_max = X[0].min() - 1, X[0].max() + 1
    y_min, y_max = X[1].min() - 1, X[1].max() + 1
    xx, yy = np.meshgrid(np.arange(x_min, x_max, 0.01), np.arange(y_min, y_max, 0.01))
    regions = np.asarray(model(np.c_[xx.ravel(), yy.ravel()])).reshape(xx.shape)
    plt.contourf(xx, yy, regions, cmap=plt.cm.Spectral)
    plt.ylabel("x2")
    plt.xlabel("x1")
    plt.scatter(X[0], X[1], c=np.ravel(y), s=40, cmap=plt.cm.Spectral)
    plt.show()


def compute_cost_with_regularization_test_case() -> tuple[np.ndarray, np.ndarray, _Parameters]:
    """Return seeded ``(A3, Y, parameters)`` for a 3-2-3-1 network and 5 examples."""
    rng = np.random.default_rng(11)
    parameters = _random_parameters(rng, [3, 2, 3, 1])
    A3 = rng.uniform(0.05, 0.95, (1, 5))
    Y = np.array([[1.0, 0.0, 1.0, 1.0, 0.0]])
    return A3, Y, parameters


def backward_propagation_with_regularization_test_case() -> tuple[np.ndarray, np.ndarray, _Cache]:
    """Return seeded ``(X, Y, cache)`` for a 3-2-3-1 network and 5 examples."""
    rng = np.random.default_rng(12)
    parameters = _random_parameters(rng, [3, 2, 3, 1])
    X = rng.standard_normal((3, 5))
    Y = np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])
    _, cache = forward_propagation(X, parameters)
    return X, Y, cache


def _random_parameters(rng: np.random.Generator, layer_dims: list[int]) -> _Parameters:
    """Draw standard-normal weights and biases for ``layer_dims`` from ``rng``."""
    parameters: _Parameters = {}
    for layer in range(1, len(layer_dims)):
        shape = (layer_dims[layer], layer_dims[layer - 1])
        parameters[f"W{layer}"] = rng.standard_normal(shape)
        parameters[f"b{layer}"] = rng.standard_normal((layer_dims[layer], 1))
    return parameters
