"""Write the example student notebooks of the Regularization assignment next to this file.

Every notebook is a student's copy of the assignment: set-up cells, a slow training cell
the grader must never run (it leaves a ``TRAINING_RAN`` file behind if it does), then for
each graded function a description, the ``# GRADED FUNCTION`` cell and a test cell. The
notebooks differ only in the graded code. Run ``python submissions_example/build.py``.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dropout_cells import (
    DROPOUT_BACKWARD_INTRO,
    DROPOUT_BACKWARD_TEST,
    DROPOUT_INTRO,
    FORWARD_TEST,
    dropout_backward_cell,
    forward_cell,
)
from l2_cells import (
    BACKWARD_INTRO,
    BACKWARD_TEST,
    COST_HEADER,
    COST_INTRO,
    COST_TEST,
    backward_body,
    backward_cell,
    cost_cell,
)

HERE = Path(__file__).resolve().parent

TITLE = """\
# Regularization

A three-layer network fits this small 2-D dataset too closely. In this notebook you add an
L2 penalty to its cost and to its gradients, then try dropout, and compare the decision boundaries."""

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
def model(X, Y, learning_rate=0.3, num_iterations=30000, print_cost=True, lambd=0, keep_prob=1):
    """
    Train LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID with plain gradient descent.

    X -- inputs, one example per column
    Y -- labels (0 or 1), shape (1, number of examples)
    lambd -- L2 strength; 0 trains without regularization
    keep_prob -- probability of keeping a hidden unit; 1 trains without dropout

    Returns the trained parameters.
    """
    parameters = initialize_parameters([X.shape[0], 20, 3, 1])
    costs = []
    for i in range(num_iterations):
        if keep_prob < 1:
            a3, cache = forward_propagation_with_dropout(X, parameters, keep_prob)
        else:
            a3, cache = forward_propagation(X, parameters)
        if lambd == 0:
            cost = compute_cost(a3, Y)
        else:
            cost = compute_cost_with_regularization(a3, Y, parameters, lambd)
        if keep_prob < 1:
            grads = backward_propagation_with_dropout(X, Y, cache, keep_prob)
        elif lambd == 0:
            grads = backward_propagation(X, Y, cache)
        else:
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


def notebook(cost_cells: list[str], backward_cells: list[str], data: str = DATA,
             forward: str | None = None, dropout_backward: str | None = None) -> nbformat.NotebookNode:
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
        new_markdown_cell(DROPOUT_INTRO),
        new_code_cell(forward if forward is not None else forward_cell()),
        new_code_cell(FORWARD_TEST),
        new_markdown_cell(DROPOUT_BACKWARD_INTRO),
        new_code_cell(dropout_backward if dropout_backward is not None else dropout_backward_cell()),
        new_code_cell(DROPOUT_BACKWARD_TEST),
        new_markdown_cell("Train with dropout, keep_prob = 0.86."),
        new_code_cell(training("model(train_X, train_Y, keep_prob=0.86, learning_rate=0.3)")),
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
                           }))],
                           forward=forward_cell({"D1": "None", "D2": "None"}, keep="None", scale="None"),
                           dropout_backward=dropout_backward_cell(scale="None")),
    "syntax_error": notebook([cost_cell(UNBALANCED_L2)], [backward_cell()]),
    "infinite_loop": notebook([cost_cell()],
                              [backward_cell(backward_body(before_return=ENDLESS_CHECK))]),
    "uses_global": notebook([cost_cell()], [backward_cell(backward_body(m_line=""))],
                            data=DATA_WITH_GLOBAL_M),
    "mutates_inputs": notebook([cost_cell(MUTATING_L2)], [backward_cell()]),
    "correct_equivalent": notebook([EQUIVALENT_COST], [DRAFT_BACKWARD, EQUIVALENT_BACKWARD]),
    # Masks drawn from the normal distribution (they keep about 76% of the units for keep_prob = 0.7), and
    # the backward pass forgets to divide dA1 by keep_prob.
    "dropout_mistakes": notebook([cost_cell()], [backward_cell()], forward=forward_cell({
        "D1": "np.random.randn(A1.shape[0], A1.shape[1])", "D2": "np.random.randn(A2.shape[0], A2.shape[1])"}),
        dropout_backward=dropout_backward_cell(unscaled=(1,))),
    # Correct, but the masks come from np.random.random, one call per layer, without the seed: the course's
    # seed-exact test fails it; graded on its own masks, it gets full marks.
    "dropout_other_draws": notebook([cost_cell()], [backward_cell()], forward=forward_cell(
        {"D1": "np.random.random(A1.shape)", "D2": "np.random.random(A2.shape)"}).replace("    np.random.seed(1)\n", "")),
}


def main() -> None:
    """Write every example notebook as ``<name>.ipynb`` in this folder."""
    for name, content in NOTEBOOKS.items():
        nbformat.write(content, HERE / f"{name}.ipynb")
        print(f"wrote {name}.ipynb")


if __name__ == "__main__":
    main()
