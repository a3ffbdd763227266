"""Write the example student notebooks of the Regularization assignment next to this file.

Every notebook is a student's copy of the assignment: set-up cells, a slow training cell
the grader must never run (it leaves a ``TRAINING_RAN`` file behind if it does), then for
each graded function a description, the ``# GRADED FUNCTION`` cell and a test cell. The
notebooks differ only in the graded code. Run ``python submissions_example/build.py``.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

TITLE = """\
# Regularization

A three-layer network fits this small 2-D dataset too closely. In this notebook you add an
L2 penalty to its cost and to its gradients, and compare the decision boundaries."""

IMPORTS = """\
import numpy as np
import matplotlib.pyplot as plt
from reg_utils import sigmoid, relu, compute_cost, forward_propagation, backward_propagation, update_parameters, load_2D_dataset, predict
from reg_utils import initialize_parameters
from testCases import *

%matplotlib inline"""

DATA = """\
train_X, train_Y, test_X, test_Y = load_2D_dataset()
print("training examples:", train_X.shape[1], "- test examples:", test_X.shape[1])"""

# The uses_global notebook keeps a notebook-level `m` that its backward pass then relies on.
DATA_WITH_GLOBAL_M = DATA + """
m = train_X.shape[1]"""

MODEL = '''\
def model(X, Y, learning_rate=0.3, num_iterations=30000, print_cost=True, lambd=0):
    """
    Train LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID with plain gradient descent.

    X -- inputs, one example per column
    Y -- labels (0 or 1), shape (1, number of examples)
    lambd -- L2 strength; 0 trains without regularization

    Returns the trained parameters.
    """
    parameters = initialize_parameters([X.shape[0], 20, 3, 1])
    costs = []
    for i in range(num_iterations):
        a3, cache = forward_propagation(X, parameters)
        if lambd == 0:
            cost = compute_cost(a3, Y)
            grads = backward_propagation(X, Y, cache)
        else:
            cost = compute_cost_with_regularization(a3, Y, parameters, lambd)
            grads = backward_propagation_with_regularization(X, Y, cache, lambd)
        parameters = update_parameters(parameters, grads, learning_rate)
        if i % 1000 == 0:
            costs.append(cost)
            if print_cost and i % 10000 == 0:
                print("cost after iteration {}: {:.5f}".format(i, cost))
    plt.plot(costs)
    plt.xlabel("iterations (thousands)")
    plt.ylabel("cost")
    plt.show()
    return parameters'''


def training(call: str) -> str:
    """Return a slow training cell that first leaves a trace if it is ever executed."""
    return f"""\
with open("TRAINING_RAN", "w") as trace:
    trace.write("a training cell was executed\\n")
parameters = {call}
print("train set:")
predictions_train = predict(train_X, train_Y, parameters)
print("test set:")
predictions_test = predict(test_X, test_Y, parameters)"""


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


def notebook(cost_cells: list[str], backward_cells: list[str],
             data: str = DATA) -> nbformat.NotebookNode:
    """Assemble a student's notebook; several graded cells mean several drafts in order."""
    cells = [
        new_markdown_cell(TITLE),
        new_code_cell(IMPORTS),
        new_code_cell(data),
        new_markdown_cell("The model below is given. Read it, then train it without "
                          "regularization (this takes a while)."),
        new_code_cell(MODEL),
        new_code_cell(training("model(train_X, train_Y, num_iterations=30000)")),
        new_markdown_cell(COST_INTRO),
    ]
    for source in cost_cells:
        cells.append(new_code_cell(source))
    cells += [new_code_cell(COST_TEST), new_markdown_cell(BACKWARD_INTRO)]
    for index, source in enumerate(backward_cells):
        if index:
            cells.append(new_markdown_cell("Second attempt, after re-reading the formula:"))
        cells.append(new_code_cell(source))
    cells += [
        new_code_cell(BACKWARD_TEST),
        new_markdown_cell("Train again, this time with $\\lambda = 0.7$."),
        new_code_cell(training("model(train_X, train_Y, lambd=0.7)")),
    ]
    # Fixed ids keep rebuilt notebooks byte-identical.
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:02d}"
    result = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(result)
    return result


MUTATING_L2 = """\
    # square the weights, then add everything up
    W1 **= 2
    W2 **= 2
    W3 **= 2
    L2_regularization_cost = lambd / (2 * m) * (np.sum(W1) + np.sum(W2) + np.sum(W3))
"""

UNBALANCED_L2 = """\
    L2_regularization_cost = (lambd / (2 * m)) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3))
"""

ENDLESS_CHECK = """
    # make sure nothing blew up before handing the gradients back
    checked = 0
    while checked < len(gradients):
        assert np.all(np.isfinite(list(gradients.values())[checked]))
"""

EQUIVALENT_COST = COST_HEADER.split("    m = Y.shape[1]")[0] + '''\
    m = Y.shape[1]
    penalty = sum(np.linalg.norm(parameters["W" + str(l)]) ** 2 for l in range(1, 4))
    return compute_cost(A3, Y) + lambd / (2 * m) * penalty'''

EQUIVALENT_BACKWARD = backward_cell('''\
    m = X.shape[1]
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache

    dZ3 = A3 - Y
    dW3 = (1 / m) * (dZ3 @ A2.T + lambd * W3)
    db3 = dZ3.sum(axis=1, keepdims=True) / m

    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (Z2 > 0)
    dW2 = (1 / m) * (dZ2 @ A1.T + lambd * W2)
    db2 = dZ2.sum(axis=1, keepdims=True) / m

    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (Z1 > 0)
    dW1 = (1 / m) * (dZ1 @ X.T + lambd * W1)
    db1 = dZ1.sum(axis=1, keepdims=True) / m

    return dict(dZ3=dZ3, dW3=dW3, db3=db3, dA2=dA2, dZ2=dZ2, dW2=dW2, db2=db2,
                dA1=dA1, dZ1=dZ1, dW1=dW1, db1=db1)''')

# The first draft forgot the penalty in every dW; the second cell replaces it.
DRAFT_BACKWARD = backward_cell(backward_body({
    "dW3": "1./m * np.dot(dZ3, A2.T)",
    "dW2": "1./m * np.dot(dZ2, A1.T)",
    "dW1": "1./m * np.dot(dZ1, X.T)",
}))

NOTEBOOKS = {
    "correct": notebook([cost_cell()], [backward_cell()]),
    "np_sum_mistake": notebook([cost_cell()], [backward_cell(backward_body({
        "dW1": "1./m * np.dot(dZ1, X.T) + (lambd * np.sum(W1)) / m",
    }))]),
    "incomplete": notebook([cost_cell("    L2_regularization_cost = None\n")],
                           [backward_cell(backward_body({
                               "dW3": "1./m * np.dot(dZ3, A2.T) + None",
                               "dW2": "1./m * np.dot(dZ2, A1.T) + None",
                               "dW1": "1./m * np.dot(dZ1, X.T) + None",
                           }))]),
    "syntax_error": notebook([cost_cell(UNBALANCED_L2)], [backward_cell()]),
    "infinite_loop": notebook([cost_cell()],
                              [backward_cell(backward_body(before_return=ENDLESS_CHECK))]),
    "uses_global": notebook([cost_cell()], [backward_cell(backward_body(m_line=""))],
                            data=DATA_WITH_GLOBAL_M),
    "mutates_inputs": notebook([cost_cell(MUTATING_L2)], [backward_cell()]),
    "correct_equivalent": notebook([EQUIVALENT_COST], [DRAFT_BACKWARD, EQUIVALENT_BACKWARD]),
}


def main() -> None:
    """Write every example notebook as ``<name>.ipynb`` in this folder."""
    for name, content in NOTEBOOKS.items():
        nbformat.write(content, HERE / f"{name}.ipynb")
        print(f"wrote {name}.ipynb")


if __name__ == "__main__":
    main()
