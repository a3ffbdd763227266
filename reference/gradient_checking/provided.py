"""Helpers the Gradient Checking assignment gives to students, rewritten for the grader.

Student notebooks import these from course modules (``gc_utils``, ``testCases``,
``public_tests``) that are not installed here; the grader serves this file under those names,
so it imports only numpy at module level. It also holds the cost functions J and their
derivatives that the probes of ``gradient_check`` put in place of the notebook's
``forward_propagation`` and ``backward_propagation`` (the exercise `replaces` them): the
notebook's J = θ·x is linear, and on a linear J several wrong checks return the right number.

Parameter vectors: ``dictionary_to_vector`` stacks W1, b1, W2, b2, W3, b3 into one column, as
the course does. The course's ``vector_to_dictionary`` reshapes into its one network
(4-5-3-1); this one reads the layer sizes off the vector's length, which differs for every
network the probes use (``LAYER_SIZES``), so the probes can vary the shapes.
"""

import numpy as np

PARAMETER_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")
GRADIENT_KEYS = ("dW1", "db1", "dW2", "db2", "dW3", "db3")

LAYER_SIZES = ((4, 5, 3, 1), (3, 3, 3, 1), (2, 4, 2, 1), (5, 2, 4, 1), (4, 4, 2, 1))
"""(n_x, n_1, n_2, 1) of every network the probes use: the course's first, each with its own number of parameters."""


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), element-wise."""
    return 1 / (1 + np.exp(-x))


def relu(x):
    """max(0, x), element-wise."""
    return np.maximum(0, x)


def parameter_count(layer_sizes):
    """How many numbers a network of these layer sizes has (weights and biases)."""
    return sum(after * before + after for before, after in zip(layer_sizes[:-1], layer_sizes[1:]))


def dictionary_to_vector(parameters):
    """Stack W1, b1, W2, b2, W3, b3 into one column vector; also return the key of each entry."""
    pieces = [np.reshape(parameters[key], (-1, 1)) for key in PARAMETER_KEYS]
    keys = [key for key, piece in zip(PARAMETER_KEYS, pieces) for _ in range(piece.shape[0])]
    return np.concatenate(pieces, axis=0), keys


def vector_to_dictionary(theta):
    """The parameters dict back from a vector made by dictionary_to_vector (layer sizes read off its length)."""
    sizes = next((sizes for sizes in LAYER_SIZES if parameter_count(sizes) == theta.shape[0]), LAYER_SIZES[0])
    parameters = {}
    start = 0
    for layer in range(1, len(sizes)):
        for key, shape in ((f"W{layer}", (sizes[layer], sizes[layer - 1])), (f"b{layer}", (sizes[layer], 1))):
            size = shape[0] * shape[1]
            parameters[key] = theta[start:start + size].reshape(shape)
            start += size
    return parameters


def gradients_to_vector(gradients):
    """Stack dW1, db1, dW2, db2, dW3, db3 into one column vector."""
    return np.concatenate([np.reshape(gradients[key], (-1, 1)) for key in GRADIENT_KEYS], axis=0)


def forward_propagation_n(X, Y, parameters):
    """LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID, and the cross-entropy cost; returns (cost, cache)."""
    m = X.shape[1]
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    logprobs = np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y)
    cost = 1. / m * np.sum(logprobs)
    cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    return cost, cache


def backward_propagation_n(X, Y, cache):
    """The notebook's backward pass as the course ships it: with its two planted bugs (dW2 and db1)."""
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1. / m * np.dot(dZ3, A2.T)
    db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = 1. / m * np.dot(dZ2, A1.T) * 2  # planted bug: the 2
    db2 = 1. / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1. / m * np.dot(dZ1, X.T)
    db1 = 4. / m * np.sum(dZ1, axis=1, keepdims=True)  # planted bug: 4 instead of 1
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def gradient_check_n_test_case():
    """The notebook's test case: X (4, 3), Y (3,), the 4-5-3-1 network's parameters."""
    rng = np.random.RandomState(1)
    x = rng.randn(4, 3)
    y = np.array([1, 1, 0])
    W1 = rng.randn(5, 4)
    b1 = rng.randn(5, 1)
    W2 = rng.randn(3, 5)
    b2 = rng.randn(3, 1)
    W3 = rng.randn(1, 3)
    b3 = rng.randn(1, 1)
    return x, y, {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3}


# ---- 1-D: the notebook's J(θ) = θ·x, and the costs the probes use instead -----------------


def forward_propagation(x, theta):
    """The notebook's J(θ) = θ·x."""
    return theta * x


def backward_propagation(x, theta):
    """dJ/dθ of J(θ) = θ·x: x."""
    return x


def backward_propagation_off_by_one(x, theta):
    """A wrong derivative of J(θ) = θ·x (x + 1): a gradient check must catch it."""
    return x + 1


def cubic_forward(x, theta):
    """J(θ) = θ³·x: not linear, so a check that never calls J at θ ± ε gives a wrong number."""
    return theta ** 3 * x


def cubic_backward(x, theta):
    """dJ/dθ of J(θ) = θ³·x: 3θ²·x."""
    return 3 * theta ** 2 * x


def cubic_backward_wrong(x, theta):
    """A wrong derivative of J(θ) = θ³·x (θ²·x, the 3 forgotten)."""
    return theta ** 2 * x


def sine_forward(x, theta):
    """J(θ) = sin(θ·x)."""
    return np.sin(theta * x)


def sine_backward(x, theta):
    """dJ/dθ of J(θ) = sin(θ·x): x·cos(θ·x)."""
    return x * np.cos(theta * x)
