"""Generate notebooks with each catalog mistake written in several forms, and what must be diagnosed.

Run directly (`python tests/mutants.py`) to print how many mutants are diagnosed exactly;
tests/test_mutants.py asserts on the same set.
"""
from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dropout_mutants  # noqa: E402
from conftest import BACKWARD, write_notebook  # noqa: E402
from mutant_records import Expected, Mutant  # noqa: E402

IMPORTS = "import numpy as np\nfrom reg_utils import compute_cost, relu, sigmoid\nfrom testCases import *\n%matplotlib inline"
TRAINING = "parameters = model(train_X, train_Y, lambd=0.7)  # never run by the grader"


RENAMES = {"gradients": "grads", "cross_entropy_cost": "ce", "L2_regularization_cost": "penalty", "reg": "l2_term",
           "lambd": "lam"}


def rename(text: str) -> str:
    return re.sub(r"\b(" + "|".join(RENAMES) + r")\b", lambda match: RENAMES[match.group(1)], text)


def renamed(mutant: Mutant) -> Mutant:
    expected = tuple(Expected(e.id, e.outputs, rename(e.line), e.exercise) for e in mutant.expected)
    return replace(mutant, name=mutant.name + "-renamed", expected=expected, renamed=True)


# ---- the correct code, as slots a mutant can replace ------------------------------------

def penalty(layer: int, style: int = 0) -> str:
    return ("lambd / m * W{0}", "(lambd / m) * W{0}", "np.multiply(lambd / m, W{0})", "lambd * W{0} / m")[style].format(layer)


def backward_source(slots: dict) -> str:
    """The backward function, with any slot replaced (slot values are whole lines, without indentation)."""
    def product(dz: str, a: str) -> str:
        return f"np.dot({dz}, {a}.T)" if slots.get("matmul", "dot") == "dot" else f"({dz} @ {a}.T)"

    lines = {
        "signature": "def backward_propagation_with_regularization(X, Y, cache, lambd):",
        "m": "m = X.shape[1]",
        "unpack": "(Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache",
        "dZ3": "dZ3 = A3 - Y",
        "dW3": f"dW3 = 1./m * {product('dZ3', 'A2')} + {penalty(3, slots.get('style', 0))}",
        "db3": "db3 = 1./m * np.sum(dZ3, axis=1, keepdims=True)",
        "dA2": "dA2 = np.dot(W3.T, dZ3)",
        "dZ2": "dZ2 = np.multiply(dA2, np.int64(A2 > 0))",
        "dW2": f"dW2 = 1./m * {product('dZ2', 'A1')} + {penalty(2, slots.get('style', 0))}",
        "db2": "db2 = 1./m * np.sum(dZ2, axis=1, keepdims=True)",
        "dA1": "dA1 = np.dot(W2.T, dZ2)",
        "dZ1": "dZ1 = np.multiply(dA1, np.int64(A1 > 0))",
        "dW1": f"dW1 = 1./m * {product('dZ1', 'X')} + {penalty(1, slots.get('style', 0))}",
        "db1": "db1 = 1./m * np.sum(dZ1, axis=1, keepdims=True)",
        "keys": '"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2, '
                '"dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1',
    }
    lines.update({key: value for key, value in slots.items() if key in lines})
    body = [lines[key] for key in ("m", "unpack", "dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1",
                                   "dW1", "db1")]
    indented = "\n".join("    " + line.replace("\n", "\n    ") for line in body)
    return (f"# GRADED FUNCTION: backward_propagation_with_regularization\n\n{lines['signature']}\n"
            f'    """Gradients of the regularized cost."""\n{indented}\n'
            f"    gradients = {{{lines['keys']}}}\n    return gradients\n")


def cost_source(slots: dict) -> str:
    lines = {
        "signature": "def compute_cost_with_regularization(A3, Y, parameters, lambd):",
        "m": "m = Y.shape[1]",
        "weights": 'W1 = parameters["W1"]\nW2 = parameters["W2"]\nW3 = parameters["W3"]',
        "ce": "cross_entropy_cost = compute_cost(A3, Y)",
        "l2": "L2_regularization_cost = lambd / (2 * m) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + "
              "np.sum(np.square(W3)))",
        "total": "cost = cross_entropy_cost + L2_regularization_cost",
        "return": "return cost",
    }
    lines.update(slots)
    body = "\n".join("    " + lines[key].replace("\n", "\n    ") for key in ("m", "weights", "ce", "l2", "total", "return"))
    return f"# GRADED FUNCTION: compute_cost_with_regularization\n\n{lines['signature']}\n{body}\n"


def write(mutant: Mutant, folder: Path) -> Path:
    cost_code, backward_code = cost_source(mutant.cost), backward_source(mutant.backward)
    if mutant.renamed:
        cost_code, backward_code = rename(cost_code), rename(backward_code)
    cells = [("markdown", "# Regularization"), IMPORTS, *([mutant.notebook_code] if mutant.notebook_code else []),
             cost_code, "A3, Y_t, p_t = compute_cost_with_regularization_test_case()", backward_code, TRAINING,
             dropout_mutants.forward_source(mutant.forward), dropout_mutants.backward_source(mutant.dropout_backward)]
    return write_notebook(folder / f"{mutant.name}.ipynb", *cells)


def grad(mistake: str, outputs: tuple[str, ...], line: str) -> Expected:
    return Expected(f"grad.{mistake}", outputs, line)


def cost(mistake: str, line: str) -> Expected:
    return Expected(f"cost.{mistake}", ("cost",), line)


def _sum_mutants() -> list[Mutant]:
    forms = [
        ("np-sum", "lambd * np.sum(W{0}) / m"),
        ("method-sum", "lambd / m * W{0}.sum()"),
        ("builtin-sum", "(lambd / m) * sum(sum(W{0}))"),
        ("norm", "lambd / m * np.linalg.norm(W{0})"),
        ("on-top", "lambd / m * W{0} + lambd / m * np.sum(W{0})"),
    ]
    mutants = []
    for name, form in forms:
        for layer, previous in ((1, "X"), (2, "A1"), (3, "A2")):
            term = form.format(layer)
            line = f"dW{layer} = 1./m * np.dot(dZ{layer}, {previous}.T) + {term}"
            mutants.append(Mutant(f"sum-{name}-W{layer}", backward={f"dW{layer}": line},
                                  expected=(grad("l2-sum-of-weights", (f"dW{layer}",), term.split(" + ")[-1]),)))
    helper = "reg = lambd / m * np.sum(W2)\ndW2 = 1./m * np.dot(dZ2, A1.T) + reg"
    mutants.append(Mutant("sum-helper-variable-W2", backward={"dW2": helper},
                          expected=(grad("l2-sum-of-weights", ("dW2",), "reg = lambd / m * np.sum(W2)"),)))
    return mutants


def all_mutants() -> list[Mutant]:
    base = "1./m * np.dot(dZ1, X.T)"
    mutants = _sum_mutants()
    for name, term, fragment in [("no-m", "lambd * W1", "lambd * W1"), ("half", "lambd / (2 * m) * W1", "(2 * m)"),
                                 ("double", "2 * lambd / m * W1", "2 * lambd")]:
        mutants.append(Mutant(f"grad-coefficient-{name}", backward={"dW1": f"dW1 = {base} + {term}"},
                              expected=(grad("l2-coefficient", ("dW1",), fragment),)))
    mutants += [
        Mutant("grad-missing-W3", backward={"dW3": "dW3 = 1./m * np.dot(dZ3, A2.T)"},
               expected=(grad("l2-missing", ("dW3",), "dW3 ="),)),
        Mutant("grad-missing-all", backward={"dW3": "dW3 = 1./m * np.dot(dZ3, A2.T)",
                                             "dW2": "dW2 = 1./m * np.dot(dZ2, A1.T)", "dW1": f"dW1 = {base}"},
               expected=(grad("l2-missing", ("dW3",), "dW3 ="), grad("l2-missing", ("dW2",), "dW2 ="),
                         grad("l2-missing", ("dW1",), "dW1 ="))),
        Mutant("grad-wrong-sign", backward={"dW2": "dW2 = 1./m * np.dot(dZ2, A1.T) - lambd / m * W2"},
               expected=(grad("l2-wrong-sign", ("dW2",), "- lambd / m * W2"),)),
        Mutant("grad-squared-elementwise", backward={"dW1": f"dW1 = {base} + lambd / m * W1**2"},
               expected=(grad("l2-squared-weights", ("dW1",), "W1**2"),)),
        Mutant("grad-squared-np-square", backward={"dW3": "dW3 = 1./m * np.dot(dZ3, A2.T) + lambd / m * np.square(W3)"},
               expected=(grad("l2-squared-weights", ("dW3",), "np.square(W3)"),)),
        Mutant("grad-squared-sum", backward={"dW2": "dW2 = 1./m * np.dot(dZ2, A1.T) + lambd / m * np.sum(np.square(W2))"},
               expected=(grad("l2-squared-weights", ("dW2",), "np.sum(np.square(W2))"),)),
        Mutant("grad-transposed-W2", backward={"dW2": "dW2 = 1./m * np.dot(dZ2, A1.T) + lambd / m * W2.T"},
               expected=(grad("l2-transposed", ("dW2",), "W2.T"),)),
        Mutant("grad-transposed-W1", backward={"dW1": f"dW1 = {base} + (lambd / m) * W1.T"},
               expected=(grad("l2-transposed", ("dW1",), "W1.T"),)),
        Mutant("grad-bias-regularized", backward={"db2": "db2 = 1./m * np.sum(dZ2, axis=1, keepdims=True) + lambd / m * b2"},
               expected=(grad("l2-bias-regularized", ("db2",), "lambd / m * b2"),)),
        Mutant("grad-wrong-layer", backward={"dW1": f"dW1 = {base} + lambd / m * W2"},
               expected=(grad("l2-wrong-layer", ("dW1",), "W2"),)),
        Mutant("grad-hardcoded-inline", backward={"dW1": f"dW1 = {base} + 0.7 / m * W1",
                                                  "dW2": "dW2 = 1./m * np.dot(dZ2, A1.T) + 0.7 / m * W2",
                                                  "dW3": "dW3 = 1./m * np.dot(dZ3, A2.T) + 0.7 / m * W3"},
               expected=(grad("hardcoded-lambda", ("dW3",), "0.7"), grad("hardcoded-lambda", ("dW2",), "0.7"),
                         grad("hardcoded-lambda", ("dW1",), "0.7"))),
        Mutant("grad-hardcoded-assigned", backward={"m": "m = X.shape[1]\nlambd = 0.7"},
               expected=(grad("hardcoded-lambda", ("dW3", "dW2", "dW1"), "lambd = 0.7"),)),
        Mutant("grad-wrong-m", backward={"m": "m = Y.shape[0]"},
               expected=(grad("wrong-m", ("dW3", "db3", "dW2", "db2", "dW1", "db1"), "m = Y.shape[0]"),)),
        Mutant("grad-overwrites-W3", backward={"dW3": "W3 = lambd / m * W3\ndW3 = 1./m * np.dot(dZ3, A2.T) + W3"},
               expected=(grad("overwrites-weights", ("dA2",), "W3 = lambd / m * W3"),)),
        Mutant("grad-missing-keys", backward={"keys": '"dW3": dW3, "db3": db3, "dW2": dW2, "db2": db2, "dW1": dW1, "db1": db1'},
               expected=(grad("missing-keys", ("dZ3", "dA2", "dZ2", "dA1", "dZ1"), "gradients ="),)),
        Mutant("grad-relu-missing", backward={"dZ2": "dZ2 = dA2"},
               expected=(grad("backprop-error", ("dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"), "dZ2 = dA2"),)),
        Mutant("grad-db-no-mean", backward={"db1": "db1 = np.sum(dZ1, axis=1, keepdims=True)"},
               expected=(grad("backprop-error", ("db1",), "db1 ="),)),
        Mutant("grad-dA1-wrong-weights", backward={"dA1": "dA1 = np.dot(W2.T, dZ2) * 2"},
               expected=(grad("backprop-error", ("dA1", "dZ1", "dW1", "db1"), "dA1 ="),)),
    ]
    squares = "np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3))"
    mutants += [
        Mutant("cost-coefficient-lambd-over-m", cost={"l2": f"L2_regularization_cost = lambd / m * ({squares})"},
               expected=(cost("l2-coefficient", "L2_regularization_cost"),)),
        Mutant("cost-coefficient-precedence", cost={"l2": f"L2_regularization_cost = lambd / 2 * m * ({squares})"},
               expected=(cost("l2-coefficient", "L2_regularization_cost"),)),
        Mutant("cost-coefficient-no-m", cost={"l2": f"L2_regularization_cost = lambd / 2 * ({squares})"},
               expected=(cost("l2-coefficient", "L2_regularization_cost"),)),
        Mutant("cost-wrong-m-fixed", cost={"m": "m = 5"},
               expected=(cost("wrong-m", "m = 5"),)),
        Mutant("cost-missing", cost={"l2": "L2_regularization_cost = 0"},
               expected=(cost("l2-missing", "cost ="),)),
        Mutant("cost-hardcoded-inline", cost={"l2": f"L2_regularization_cost = 0.7 / (2 * m) * ({squares})"},
               expected=(cost("hardcoded-lambda", "0.7"),)),
        Mutant("cost-hardcoded-assigned", cost={"m": "m = Y.shape[1]\nlambd = 0.1"},
               expected=(cost("hardcoded-lambda", "lambd = 0.1"),)),
        Mutant("cost-only-W1", cost={"l2": "L2_regularization_cost = lambd / (2 * m) * np.sum(np.square(W1))"},
               expected=(cost("l2-missing-layer", "L2_regularization_cost"),)),
        Mutant("cost-without-W3", cost={"l2": "L2_regularization_cost = lambd / (2 * m) * (np.sum(W1 ** 2) + np.sum(W2 ** 2))"},
               expected=(cost("l2-missing-layer", "L2_regularization_cost"),)),
        Mutant("cost-square-of-sum", cost={"l2": "L2_regularization_cost = lambd / (2 * m) * (np.sum(W1)**2 + np.sum(W2)**2 + np.sum(W3)**2)"},
               expected=(cost("l2-not-squared", "L2_regularization_cost"),)),
        Mutant("cost-norm-unsquared", cost={"l2": "L2_regularization_cost = lambd / (2 * m) * (np.linalg.norm(W1) + np.linalg.norm(W2) + np.linalg.norm(W3))"},
               expected=(cost("l2-not-squared", "L2_regularization_cost"),)),
        Mutant("cost-sum-of-product", cost={"l2": "L2_regularization_cost = lambd / (2 * m) * (np.sum(W1.T @ W1) + np.sum(W2.T @ W2) + np.sum(W3.T @ W3))"},
               expected=(cost("l2-not-squared", "L2_regularization_cost"),)),
        Mutant("cost-includes-bias", cost={
            "weights": 'W1, W2, W3 = parameters["W1"], parameters["W2"], parameters["W3"]\n'
                       'b1, b2, b3 = parameters["b1"], parameters["b2"], parameters["b3"]',
            "l2": f"L2_regularization_cost = lambd / (2 * m) * ({squares} + np.sum(b1**2) + np.sum(b2**2) + np.sum(b3**2))"},
               expected=(cost("l2-includes-bias", "L2_regularization_cost"),)),
        Mutant("cost-cross-entropy-twice", cost={"total": "cost = cross_entropy_cost + cross_entropy_cost + L2_regularization_cost"},
               expected=(cost("cross-entropy-wrong", "cost ="),)),
        Mutant("cost-own-cross-entropy-wrong", cost={"ce": "cross_entropy_cost = -np.sum(Y * np.log(A3)) / m"},
               expected=(cost("cross-entropy-wrong", "cost ="),)),
        # Several mistakes at once, in different layers and exercises.
        Mutant("combined-cost-coefficient-and-sum-W2",
               cost={"l2": f"L2_regularization_cost = lambd / m * ({squares})"},
               backward={"dW2": "dW2 = 1./m * np.dot(dZ2, A1.T) + lambd * np.sum(W2) / m"},
               expected=(cost("l2-coefficient", "L2_regularization_cost"),
                         grad("l2-sum-of-weights", ("dW2",), "np.sum(W2)"))),
        Mutant("combined-sum-W1-missing-W3",
               backward={"dW1": f"dW1 = {base} + lambd / m * W1.sum()", "dW3": "dW3 = 1./m * np.dot(dZ3, A2.T)"},
               expected=(grad("l2-sum-of-weights", ("dW1",), "W1.sum()"), grad("l2-missing", ("dW3",), "dW3 ="))),
        Mutant("combined-relu-and-missing-W3",
               backward={"dZ2": "dZ2 = dA2", "dW3": "dW3 = 1./m * np.dot(dZ3, A2.T)"},
               expected=(grad("l2-missing", ("dW3",), "dW3 ="),
                         grad("backprop-error", ("dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"), "dZ2 = dA2"))),
        Mutant("combined-cost-missing-layer-and-bias-grad",
               cost={"l2": "L2_regularization_cost = lambd / (2 * m) * np.sum(np.square(W1))"},
               backward={"db3": "db3 = 1./m * np.sum(dZ3, axis=1, keepdims=True) + lambd / m * b3"},
               expected=(cost("l2-missing-layer", "L2_regularization_cost"),
                         grad("l2-bias-regularized", ("db3",), "lambd / m * b3"))),
    ]
    mutants += _cause_mutants()
    return mutants + [renamed(mutant) for mutant in mutants] + dropout_mutants.dropout_mutants()


GRADIENTS = ("dW3", "db3", "dW2", "db2", "dW1", "db1")
SQUARES = "np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3))"
WEIGHTS_AND_BIASES = ('W1, W2, W3 = parameters["W1"], parameters["W2"], parameters["W3"]\n'
                      'b1, b2, b3 = parameters["b1"], parameters["b2"], parameters["b3"]')


def _penalty_line(sum_of_squares: str, coefficient: str = "lambd / (2 * m)") -> str:
    return f"L2_regularization_cost = {coefficient} * ({sum_of_squares})"


def _cause_mutants() -> list[Mutant]:
    """One cause that spoils several outputs (or hides among numerically identical causes), in many spellings."""
    mutants = []
    # A wrong m in the backward pass scales every dW and db: one finding, on the `m = ...` line.
    for name, line in (("X-rows", "m = X.shape[0]"), ("Y-rows", "m = Y.shape[0]"), ("len-Y", "m = len(Y)"),
                       ("np-shape-Y", "m = np.shape(Y)[0]"), ("unpacked", "m, n_x = X.shape")):
        mutants.append(Mutant(f"grad-wrong-m-{name}", backward={"m": line},
                              expected=(grad("wrong-m", GRADIENTS, line),)))
    mutants.append(Mutant("grad-wrong-m-global", backward={"m": "pass"}, notebook_code="m = 5",
                          expected=(grad("wrong-m", GRADIENTS, "m = 5"),)))
    # A wrong m in the cost gives the numbers of a missing /m; the code says which it is.
    for name, line in (("A3-rows", "m = A3.shape[0]"), ("len-Y", "m = len(Y)"), ("Y-rows", "m = Y.shape[0]"),
                       ("unpacked", "m, n = Y.shape")):
        mutants.append(Mutant(f"cost-wrong-m-{name}", cost={"m": line}, expected=(cost("wrong-m", line),)))
    mutants += [
        Mutant("cost-wrong-m-inline-penalty", cost={"m": "m = len(Y)", "l2": "L2_regularization_cost = 0",
                                                    "total": f"cost = cross_entropy_cost + lambd / (2 * m) * ({SQUARES})"},
               expected=(cost("wrong-m", "m = len(Y)"),)),
        Mutant("cost-wrong-m-global", cost={"m": "pass"}, notebook_code="m = 4", expected=(cost("wrong-m", "m = 4"),)),
        # m is wrong too, but the penalty does not divide by it: the coefficient is the cause.
        Mutant("cost-coefficient-no-m-with-wrong-m", cost={"m": "m = len(Y)", "l2": _penalty_line(SQUARES, "lambd / 2")},
               expected=(cost("l2-coefficient", "lambd / 2 *"),)),
        # The code cannot tell: both causes are named in one finding.
        Mutant("cost-wrong-m-or-coefficient", cost={"m": "m = Y.shape[1] if Y.ndim == 1 else len(Y)"},
               expected=(Expected("cost.l2-coefficient", ("cost",), "m = Y.shape[1] if"),)),
        Mutant("combined-cost-wrong-m-and-grad-wrong-m", cost={"m": "m = len(Y)"}, backward={"m": "m = X.shape[0]"},
               expected=(cost("wrong-m", "m = len(Y)"), grad("wrong-m", GRADIENTS, "m = X.shape[0]"))),
        Mutant("combined-grad-wrong-m-and-cost-not-squared", backward={"m": "m = len(Y)"},
               cost={"l2": _penalty_line("np.sum(W1)**2 + np.sum(W2)**2 + np.sum(W3)**2")},
               expected=(grad("wrong-m", GRADIENTS, "m = len(Y)"), cost("l2-not-squared", "np.sum(W1)**2"))),
    ]
    # Biases penalised in some layers only, named by layer.
    mutants += [
        Mutant("cost-bias-b1-only", cost={"weights": WEIGHTS_AND_BIASES,
                                          "l2": _penalty_line(f"{SQUARES} + np.sum(np.square(b1))")},
               expected=(cost("l2-includes-bias", "np.square(b1)"),)),
        Mutant("cost-bias-b2-b3-helper", cost={"weights": WEIGHTS_AND_BIASES,
                                               "l2": "bias_terms = np.sum(b2 ** 2) + np.sum(b3 ** 2)\n"
                                                     + _penalty_line(f"{SQUARES} + bias_terms")},
               expected=(cost("l2-includes-bias", "L2_regularization_cost"),)),
        Mutant("cost-bias-in-one-layer-term", cost={"weights": WEIGHTS_AND_BIASES, "l2": _penalty_line(
            "np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)) + np.sum(np.square(b3))")},
               expected=(cost("l2-includes-bias", "L2_regularization_cost"),)),
        Mutant("cost-bias-and-missing-W3", cost={"weights": WEIGHTS_AND_BIASES, "l2": _penalty_line(
            "np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(b1))")},
               expected=(cost("l2-missing-layer", "L2_regularization_cost"), cost("l2-includes-bias", "L2_regularization_cost"))),
        Mutant("grad-bias-db1-and-db3", backward={
            "db1": "db1 = 1./m * np.sum(dZ1, axis=1, keepdims=True) + lambd / m * b1",
            "db3": "db3 = 1./m * np.sum(dZ3, axis=1, keepdims=True) + (lambd / m) * b3"},
               expected=(grad("l2-bias-regularized", ("db3",), "b3"), grad("l2-bias-regularized", ("db1",), "b1"))),
        Mutant("combined-cost-bias-b2-and-grad-sum", cost={"weights": WEIGHTS_AND_BIASES,
                                                           "l2": _penalty_line(f"{SQUARES} + np.sum(b2 * b2)")},
               backward={"dW2": "dW2 = 1./m * np.dot(dZ2, A1.T) + lambd * np.sum(W2) / m"},
               expected=(cost("l2-includes-bias", "b2 * b2"), grad("l2-sum-of-weights", ("dW2",), "np.sum(W2)"))),
    ]
    # Not squared, in every spelling, alone and combined.
    for name, form in (("dot-product", "np.sum(np.dot({w}.T, {w}))"), ("matmul", "np.sum({w}.T @ {w})"),
                       ("square-of-sum", "np.sum({w})**2"), ("norm", "np.linalg.norm({w})"),
                       ("plain-sum", "np.sum({w})")):
        squares = " + ".join(form.format(w=f"W{layer}") for layer in (1, 2, 3))
        mutants.append(Mutant(f"cost-not-squared-{name}", cost={"l2": _penalty_line(squares)},
                              expected=(cost("l2-not-squared", form.format(w="W1")),)))
    mutants += [
        Mutant("cost-not-squared-one-layer", cost={"l2": _penalty_line(
            "np.sum(W1.T @ W1) + np.sum(np.square(W2)) + np.sum(np.square(W3))")},
               expected=(cost("l2-not-squared", "W1.T @ W1"),)),
        Mutant("cost-not-squared-norm-inline", cost={"l2": "L2_regularization_cost = 0", "total":
               "cost = cross_entropy_cost + lambd / (2 * m) * (np.linalg.norm(W1) + np.linalg.norm(W2) + np.linalg.norm(W3))"},
               expected=(cost("l2-not-squared", "np.linalg.norm(W1)"),)),
        Mutant("cost-not-squared-and-coefficient", cost={"l2": _penalty_line(
            "np.sum(W1)**2 + np.sum(W2)**2 + np.sum(W3)**2", "lambd / m")},
               expected=(cost("l2-coefficient", "np.sum(W1)**2"), cost("l2-not-squared", "np.sum(W1)**2"))),
        Mutant("combined-cost-not-squared-and-grad-sum", cost={"l2": _penalty_line(
            "np.sum(W1.T @ W1) + np.sum(W2.T @ W2) + np.sum(W3.T @ W3)")},
               backward={"dW1": "dW1 = 1./m * np.dot(dZ1, X.T) + lambd * np.sum(W1) / m"},
               expected=(cost("l2-not-squared", "W1.T @ W1"), grad("l2-sum-of-weights", ("dW1",), "np.sum(W1)"))),
        Mutant("combined-cost-norm-and-grad-wrong-sign", cost={"l2": _penalty_line(
            "np.linalg.norm(W1) + np.linalg.norm(W2) + np.linalg.norm(W3)")},
               backward={"dW3": "dW3 = 1./m * np.dot(dZ3, A2.T) - lambd / m * W3"},
               expected=(cost("l2-not-squared", "np.linalg.norm(W1)"), grad("l2-wrong-sign", ("dW3",), "- lambd"))),
    ]
    # Outputs left as None are named; a penalty left out is pointed at where it belongs.
    mutants += [
        Mutant("grad-one-output-none", backward={"dW2": "dW2 = None"},
               expected=(Expected("not-implemented", ("dW2",), "dW2 = None", BACKWARD),)),
        Mutant("grad-two-outputs-none", backward={"dW2": "dW2 = None", "db1": "db1 = None"},
               expected=(Expected("not-implemented", ("dW2", "db1"), "dW2 = None", BACKWARD),)),
        Mutant("cost-missing-returns-cross-entropy", cost={"l2": "pass", "total": "pass", "return": "return cross_entropy_cost"},
               expected=(cost("l2-missing", "return cross_entropy_cost"),)),
        Mutant("cost-missing-assigned-alias", cost={"l2": "pass", "total": "cost = cross_entropy_cost"},
               expected=(cost("l2-missing", "cost = cross_entropy_cost"),)),
    ]
    return mutants


def equivalent_forms() -> list[Mutant]:
    """Correct code written differently: every one must get full marks and no findings."""
    forms = []
    for index, squares in enumerate([
        "np.linalg.norm(W1)**2 + np.linalg.norm(W2)**2 + np.linalg.norm(W3)**2",
        "np.linalg.norm(W1, 'fro')**2 + np.linalg.norm(W2, 'fro')**2 + np.linalg.norm(W3, 'fro')**2",
        "np.trace(W1 @ W1.T) + np.trace(W2 @ W2.T) + np.trace(W3 @ W3.T)",
        "np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3)",
        "np.dot(W1.ravel(), W1.ravel()) + np.dot(W2.ravel(), W2.ravel()) + np.dot(W3.ravel(), W3.ravel())",
    ]):
        forms.append(Mutant(f"equivalent-cost-{index}", cost={"l2": f"L2_regularization_cost = (lambd / (2 * m)) * ({squares})"}))
    forms += [
        Mutant("equivalent-cost-float", cost={"return": "return float(cost)"}),
        Mutant("equivalent-cost-0d-array", cost={"return": "return np.array(cost)"}),
        Mutant("equivalent-cost-1x1-array", cost={"return": "return np.array([[cost]])"}),
        Mutant("equivalent-backward-factored", backward={
            "dW1": "dW1 = (1 / m) * (dZ1 @ X.T + lambd * W1)", "dW2": "dW2 = (1 / m) * (dZ2 @ A1.T + lambd * W2)",
            "dW3": "dW3 = (1 / m) * (dZ3 @ A2.T + lambd * W3)"}),
        Mutant("equivalent-backward-multiply", backward={"style": 2}),
        Mutant("equivalent-backward-matmul", backward={"matmul": "at", "style": 3}),
        Mutant("equivalent-backward-relu-z", backward={"dZ2": "dZ2 = dA2 * (Z2 > 0)", "dZ1": "dZ1 = dA1 * (Z1 > 0)"}),
        Mutant("equivalent-backward-relu-a", backward={"dZ2": "dZ2 = dA2 * (A2 > 0)", "dZ1": "dZ1 = np.where(A1 > 0, dA1, 0)"}),
        Mutant("equivalent-backward-unpacked-m", backward={"m": "n_x, m = X.shape"}),
        Mutant("equivalent-cost-m-from-A3", cost={"m": "m = A3.shape[1]"}),
        Mutant("equivalent-cost-unpacked-m", cost={"m": "_, m = np.shape(Y)"}),
        Mutant("equivalent-renamed-lambda", backward={"signature": "def backward_propagation_with_regularization(X, Y, cache, lam):",
                                                      "m": "m = X.shape[1]\nlambd = lam"},
               cost={"signature": "def compute_cost_with_regularization(a3, y, params, lambd):",
                     "m": "m = y.shape[1]\nA3, Y, parameters = a3, y, params"}),
    ]
    return forms + dropout_mutants.dropout_equivalents()


def diagnosis_matches(result, mutant: Mutant) -> tuple[bool, str]:
    """Whether the grader reported exactly the expected findings (ids, outputs, quoted line)."""
    found = [(finding.id, finding.outputs, " / ".join(location.code for location in (finding.location, *finding.locations)
                                                      if location is not None))
             for exercise in result.exercises for finding in exercise.findings]
    if sorted((str(item[0]), item[1]) for item in found) != sorted((e.id, e.outputs) for e in mutant.expected):
        return False, f"found {[(i, o) for i, o, _ in found]}"
    for expected in mutant.expected:
        codes = [code for finding_id, outputs, code in found if finding_id == expected.id and outputs == expected.outputs]
        if not any(expected.line in code for code in codes):
            return False, f"{expected.id}: quoted {codes}, expected a line with {expected.line!r}"
    return True, ""


def main() -> int:
    import tempfile

    from grader.grade import Grader
    from grader.records import Limits

    mutants, equivalents = all_mutants(), equivalent_forms()
    with tempfile.TemporaryDirectory() as folder, Grader("regularization", Limits(wall_seconds=5)) as grader:
        exact = 0
        for mutant in mutants:
            ok, why = diagnosis_matches(grader.grade(write(mutant, Path(folder))), mutant)
            exact += ok
            if not ok:
                print(f"  {mutant.name}: {why}")
        false_findings = 0
        for mutant in equivalents:
            result = grader.grade(write(mutant, Path(folder)))
            false_findings += sum(len(exercise.findings) for exercise in result.exercises)
            if result.score != result.max_score:
                print(f"  {mutant.name}: {result.score}/{result.max_score}")
    print(f"{exact}/{len(mutants)} mutants diagnosed exactly ({exact / len(mutants):.1%}); "
          f"{false_findings} findings on {len(equivalents)} equivalent correct forms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
