"""The cells of the L2 part of the example notebooks: the graded cost and backward cells (correct by default,
or with given lines), their descriptions and tests."""

COST_INTRO = r"""## 1 - L2 regularization

The regularized cost is the cross-entropy plus a penalty on the size of every weight:

$$J = \text{cross-entropy} + \frac{\lambda}{2m} \sum_{l=1}^{3} \lVert W^{[l]} \rVert_F^2$$

where $\lVert W \rVert_F^2$ is the sum of the squares of the entries of $W$. The biases are
not penalised.

**Exercise**: implement `compute_cost_with_regularization`."""

COST_HEADER = '''\
# GRADED FUNCTION: compute_cost_with_regularization

def compute_cost_with_regularization(A3, Y, parameters, lambd):
    """
    Cross-entropy cost plus the L2 penalty on W1, W2 and W3.

    A3 -- sigmoid outputs of the network, shape (1, number of examples)
    Y -- labels (0 or 1), shape (1, number of examples)
    parameters -- dictionary with W1, b1, W2, b2, W3, b3
    lambd -- strength of the penalty

    Returns the regularized cost (a number).
    """
    m = Y.shape[1]
    W1 = parameters["W1"]
    W2 = parameters["W2"]
    W3 = parameters["W3"]

    cross_entropy_cost = compute_cost(A3, Y)  # the unregularized part

'''

COST_FOOTER = '''
    cost = cross_entropy_cost + L2_regularization_cost
    return cost'''

L2_COST_CORRECT = """\
    # your code here
    L2_regularization_cost = lambd / (2 * m) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))
"""

COST_TEST = """\
A3, Y_assess, parameters = compute_cost_with_regularization_test_case()
print("cost = " + str(compute_cost_with_regularization(A3, Y_assess, parameters, lambd=0.1)))"""

BACKWARD_INTRO = r"""The penalty changes the cost, so it changes the gradients too. Only the weight gradients
get an extra term, the derivative of the penalty with respect to $W^{[l]}$:
$\frac{\lambda}{m} W^{[l]}$.

**Exercise**: implement `backward_propagation_with_regularization`."""

BACKWARD_HEADER = '''\
# GRADED FUNCTION: backward_propagation_with_regularization

def backward_propagation_with_regularization(X, Y, cache, lambd):
    """
    Gradients of the regularized cost for the three-layer network.

    X -- inputs, shape (input size, number of examples)
    Y -- labels (0 or 1), shape (1, number of examples)
    cache -- the tuple returned by forward_propagation
    lambd -- strength of the penalty

    Returns a dictionary with the gradient of every Z, A, W and b used below.
    """
'''

BACKWARD_TEST = """\
X_assess, Y_assess, cache = backward_propagation_with_regularization_test_case()

grads = backward_propagation_with_regularization(X_assess, Y_assess, cache, lambd=0.7)
for name in ("dW1", "dW2", "dW3"):
    print(name, "=")
    print(grads[name])"""

CORRECT_DW = {
    "dW3": "1./m * np.dot(dZ3, A2.T) + lambd / m * W3",
    "dW2": "1./m * np.dot(dZ2, A1.T) + lambd / m * W2",
    "dW1": "1./m * np.dot(dZ1, X.T) + lambd / m * W1",
}

RETURN_GRADIENTS = """\
    gradients = {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2,
                 "dZ2": dZ2, "dW2": dW2, "db2": db2, "dA1": dA1,
                 "dZ1": dZ1, "dW1": dW1, "db1": db1}
"""



def backward_body(dw: dict[str, str] | None = None, m_line: str = "    m = X.shape[1]\n",
                  before_return: str = "") -> str:
    """Return a template-style backward body with the given right-hand sides for dW1..dW3."""
    dw = {**CORRECT_DW, **(dw or {})}
    return f"""\
{m_line}    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache

    dZ3 = A3 - Y
    dW3 = {dw["dW3"]}
    db3 = 1./m * np.sum(dZ3, axis=1, keepdims=True)

    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, (A2 > 0).astype(float))
    dW2 = {dw["dW2"]}
    db2 = 1./m * np.sum(dZ2, axis=1, keepdims=True)

    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, (A1 > 0).astype(float))
    dW1 = {dw["dW1"]}
    db1 = 1./m * np.sum(dZ1, axis=1, keepdims=True)

{RETURN_GRADIENTS}{before_return}
    return gradients"""


def cost_cell(l2_lines: str = L2_COST_CORRECT) -> str:
    """Return the graded cost cell with ``l2_lines`` computing L2_regularization_cost."""
    return COST_HEADER + l2_lines + COST_FOOTER


def backward_cell(body: str | None = None) -> str:
    """Return the graded backward cell with ``body`` (the correct template body by default)."""
    return BACKWARD_HEADER + "\n" + (body if body is not None else backward_body())
