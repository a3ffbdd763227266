"""The cells of the dropout part of the example notebooks: the graded forward and backward cells (correct by
default, or with given draws and scaling), their descriptions and tests."""

from l2_cells import RETURN_GRADIENTS

DROPOUT_INTRO = r"""## 2 - Dropout

Dropout shuts down each hidden unit with probability $1 - \text{keep\_prob}$ on every iteration:
draw a mask $D^{[l]}$ of the shape of $A^{[l]}$ with entries 1 (kept, probability keep_prob) or
0, multiply, then divide by keep_prob so that the expected activation is unchanged
(inverted dropout). Only the two hidden layers are dropped out.

**Exercise**: implement `forward_propagation_with_dropout`."""

FORWARD_HEADER = '''\
# GRADED FUNCTION: forward_propagation_with_dropout

def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    """
    LINEAR -> RELU + DROPOUT -> LINEAR -> RELU + DROPOUT -> LINEAR -> SIGMOID.

    X -- inputs, shape (2, number of examples)
    parameters -- dictionary with W1, b1, W2, b2, W3, b3
    keep_prob -- probability of keeping a hidden unit

    Returns A3, the output, and the cache for the backward pass.
    """
    np.random.seed(1)
    W1 = parameters["W1"]
    b1 = parameters["b1"]
    W2 = parameters["W2"]
    b2 = parameters["b2"]
    W3 = parameters["W3"]
    b3 = parameters["b3"]

'''

CORRECT_DRAWS = {
    "D1": "np.random.rand(A1.shape[0], A1.shape[1])",
    "D2": "np.random.rand(A2.shape[0], A2.shape[1])",
}


def forward_cell(draws: dict[str, str] | None = None, keep: str = "D{l} < keep_prob",
                 scale: str = "A{l} / keep_prob") -> str:
    """Return the graded forward cell: mask draws, the keep rule and the scaling as given (correct by default)."""
    draws = {**CORRECT_DRAWS, **(draws or {})}
    layers = []
    for layer, previous in ((1, "X"), (2, "A1")):
        layers.append(f"""\
    Z{layer} = np.dot(W{layer}, {previous}) + b{layer}
    A{layer} = relu(Z{layer})
    D{layer} = {draws[f"D{layer}"]}
    D{layer} = {keep.format(l=layer)}
    A{layer} = A{layer} * D{layer}
    A{layer} = {scale.format(l=layer)}
""")
    return FORWARD_HEADER + "\n".join(layers) + """
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)

    cache = (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)
    return A3, cache"""


FORWARD_TEST = """\
X_assess, parameters = forward_propagation_with_dropout_test_case()
A3, cache = forward_propagation_with_dropout(X_assess, parameters, keep_prob=0.7)
print("A3 = " + str(A3))"""

DROPOUT_BACKWARD_INTRO = r"""The backward pass goes through the same masks: $dA^{[l]}$ is masked with $D^{[l]}$
and divided by keep_prob, as $A^{[l]}$ was.

**Exercise**: implement `backward_propagation_with_dropout`."""

DROPOUT_BACKWARD_HEADER = '''\
# GRADED FUNCTION: backward_propagation_with_dropout

def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    """
    Gradients of the cost of the network with dropout.

    X -- inputs, shape (2, number of examples)
    Y -- labels (0 or 1), shape (1, number of examples)
    cache -- the tuple returned by forward_propagation_with_dropout
    keep_prob -- probability of keeping a hidden unit

    Returns a dictionary with the gradient of every Z, A, W and b.
    """
    m = X.shape[1]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache

    dZ3 = A3 - Y
    dW3 = 1./m * np.dot(dZ3, A2.T)
    db3 = 1./m * np.sum(dZ3, axis=1, keepdims=True)
'''


def dropout_backward_cell(scale: str = "dA{l} / keep_prob", unscaled: tuple[int, ...] = ()) -> str:
    """Return the graded backward-with-dropout cell, dA_l scaled as given (correct by default), not at all in the
    `unscaled` layers."""
    layers = []
    for layer, upstream, weights, previous in ((2, "dZ3", "W3", "A1"), (1, "dZ2", "W2", "X")):
        scaling = "" if layer in unscaled else f"    dA{layer} = {scale.format(l=layer)}\n"
        layers.append(f"""\
    dA{layer} = np.dot({weights}.T, {upstream})
    dA{layer} = dA{layer} * D{layer}
{scaling}    dZ{layer} = np.multiply(dA{layer}, np.int64(A{layer} > 0))
    dW{layer} = 1./m * np.dot(dZ{layer}, {previous}.T)
    db{layer} = 1./m * np.sum(dZ{layer}, axis=1, keepdims=True)
""")
    return DROPOUT_BACKWARD_HEADER + "\n" + "\n".join(layers) + "\n" + RETURN_GRADIENTS + "\n    return gradients"


DROPOUT_BACKWARD_TEST = """\
X_assess, Y_assess, cache = backward_propagation_with_dropout_test_case()
gradients = backward_propagation_with_dropout(X_assess, Y_assess, cache, keep_prob=0.8)
print("dA1 = " + str(gradients["dA1"]))
print("dA2 = " + str(gradients["dA2"]))"""
