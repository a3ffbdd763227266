"""Notebooks of the Gradient Checking assignment with each catalogue mistake written as students write it.

A notebook is the course's (the v1 template's variable names, or the newer one's), with the given
backward_propagation_n fixed unless a mutant says otherwise; a mutant replaces lines of one function.
Run directly (`python tests/gc_mutants.py`, the project installed) to print how many are diagnosed exactly;
tests/test_gc_mutants.py asserts on the same set.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from conftest import write_notebook  # noqa: E402

IMPORTS = ("import numpy as np\nfrom testCases import *\nfrom public_tests import *\n"
           "from gc_utils import sigmoid, relu, dictionary_to_vector, vector_to_dictionary, gradients_to_vector\n"
           "%load_ext autoreload")
FORWARD = "def forward_propagation(x, theta):\n    J = np.dot(theta, x)\n    return J\n"
BACKWARD = "def backward_propagation(x, theta):\n    dtheta = x\n    return dtheta\n"
CHECK = """\
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    thetaplus = theta + epsilon
    thetaminus = theta - epsilon
    J_plus = forward_propagation(x, thetaplus)
    J_minus = forward_propagation(x, thetaminus)
    gradapprox = (J_plus - J_minus) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = numerator / denominator
    if print_msg:
        if difference > 2e-7:
            print("There is a mistake in the backward propagation! difference = " + str(difference))
        else:
            print("Your backward propagation works perfectly fine! difference = " + str(difference))
    return difference
"""
FORWARD_N = """\
def forward_propagation_n(X, Y, parameters):
    m = X.shape[1]
    W1 = parameters["W1"]
    b1 = parameters["b1"]
    W2 = parameters["W2"]
    b2 = parameters["b2"]
    W3 = parameters["W3"]
    b3 = parameters["b3"]
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
"""
BACKWARD_N = """\
def backward_propagation_n(X, Y, cache):
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1./m * np.dot(dZ3, A2.T)
    db3 = 1./m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = 1./m * np.dot(dZ2, A1.T)
    db2 = 1./m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1./m * np.dot(dZ1, X.T)
    db1 = 1./m * np.sum(dZ1, axis=1, keepdims=True)
    gradients = {"dZ3": dZ3, "dW3": dW3, "db3": db3,
                 "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
                 "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}
    return gradients
"""
CHECK_N = """\
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    parameters_values, _ = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients)
    num_parameters = parameters_values.shape[0]
    J_plus = np.zeros((num_parameters, 1))
    J_minus = np.zeros((num_parameters, 1))
    gradapprox = np.zeros((num_parameters, 1))
    for i in range(num_parameters):
        thetaplus = np.copy(parameters_values)
        thetaplus[i][0] = thetaplus[i][0] + epsilon
        J_plus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(thetaplus))
        thetaminus = np.copy(parameters_values)
        thetaminus[i][0] = thetaminus[i][0] - epsilon
        J_minus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(thetaminus))
        gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = numerator / denominator
    if print_msg:
        print(difference)
    return difference
"""
TESTS = ("x, theta = 3, 4\ndifference = gradient_check(x, theta, print_msg=True)",
         "X, Y, parameters = gradient_check_n_test_case()\ncost, cache = forward_propagation_n(X, Y, parameters)\n"
         "gradients = backward_propagation_n(X, Y, cache)\n"
         "difference = gradient_check_n(parameters, gradients, X, Y, 1e-7, True)")
FUNCTIONS = {"forward_propagation": FORWARD, "backward_propagation": BACKWARD, "gradient_check": CHECK,
             "forward_propagation_n": FORWARD_N, "backward_propagation_n": BACKWARD_N, "gradient_check_n": CHECK_N}
NEW_TEMPLATE = {"gradient_check_n": [("thetaplus", "theta_plus"), ("thetaminus", "theta_minus"),
                                     ("theta_plus[i][0] = theta_plus[i][0] + epsilon",
                                      "theta_plus[i] = theta_plus[i] + epsilon"),
                                     ("theta_minus[i][0] = theta_minus[i][0] - epsilon",
                                      "theta_minus[i] = theta_minus[i] - epsilon")]}


@dataclass(frozen=True)
class Expected:
    """A finding the grader must report: its id, the exercise, the outputs, and a line among those it quotes."""

    id: str
    function: str
    outputs: tuple[str, ...]
    line: str


@dataclass(frozen=True)
class Mutant:
    name: str
    edits: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Function → (old text, new text) replacements in the correct code."""
    expected: tuple[Expected, ...] = ()
    costs_points: bool = True
    """False: the value is right in another form (a (1, 1) array): a note and a finding, no points lost."""


def source(function: str, edits: dict[str, list[tuple[str, str]]]) -> str:
    text = FUNCTIONS[function]
    for old, new in edits.get(function, []):
        if old not in text:
            raise ValueError(f"{function}: {old!r} is not in the code")
        text = text.replace(old, new)
    return text


def write(mutant: Mutant, folder: Path) -> Path:
    cells = [IMPORTS, *(source(function, mutant.edits) for function in FUNCTIONS), *TESTS]
    return write_notebook(folder / f"{mutant.name}.ipynb", *cells)


def one_d(name: str, mistake: str, line: str, *edits: tuple[str, str]) -> Mutant:
    return Mutant(name, {"gradient_check": list(edits)},
                  (Expected(mistake, "gradient_check", ("difference",), line),))


def n_d(name: str, mistake: str, line: str, *edits: tuple[str, str], template: str = "v1",
        costs_points: bool = True) -> Mutant:
    changes = [*(NEW_TEMPLATE["gradient_check_n"] if template == "new" else []), *edits]
    return Mutant(name, {"gradient_check_n": changes}, (Expected(mistake, "gradient_check_n", ("difference",), line),),
                  costs_points)


APPROX = "(J_plus - J_minus) / (2 * epsilon)"
APPROX_N = "(J_plus[i] - J_minus[i]) / (2 * epsilon)"
NORMS = ("numerator = np.linalg.norm(grad - gradapprox)\n    denominator = np.linalg.norm(grad) + "
         "np.linalg.norm(gradapprox)")


def one_d_mutants() -> list[Mutant]:
    return [
        one_d("1d-minus-from-plus", "gc.theta-minus-from-plus", "thetaminus = thetaplus - epsilon",
              ("thetaminus = theta - epsilon", "thetaminus = thetaplus - epsilon")),
        one_d("1d-minus-shifted-up", "gc.sign-slip", "thetaminus = theta + epsilon",
              ("thetaminus = theta - epsilon", "thetaminus = theta + epsilon")),
        one_d("1d-shifts-swapped", "gc.sign-slip", "thetaplus = theta - epsilon",
              ("thetaplus = theta + epsilon", "thetaplus = theta - epsilon"),
              ("thetaminus = theta - epsilon", "thetaminus = theta + epsilon")),
        one_d("1d-unperturbed-forward", "gc.sign-slip", "J_plus = forward_propagation(x, theta)",
              ("forward_propagation(x, thetaplus)", "forward_propagation(x, theta)"),
              ("forward_propagation(x, thetaminus)", "forward_propagation(x, theta)")),
        one_d("1d-divides-by-epsilon", "gc.epsilon-divisor", "/ epsilon", (APPROX, "(J_plus - J_minus) / epsilon")),
        one_d("1d-one-sided", "gc.one-sided-difference", "gradapprox = (J_plus - forward_propagation(x, theta))",
              (APPROX, "(J_plus - forward_propagation(x, theta)) / epsilon")),
        one_d("1d-precedence", "gc.precedence", "/ 2 * epsilon", (APPROX, "(J_plus - J_minus) / 2 * epsilon")),
        one_d("1d-precedence-minus", "gc.precedence", "J_plus - J_minus / (2 * epsilon)",
              (APPROX, "J_plus - J_minus / (2 * epsilon)")),
        one_d("1d-sum-of-costs", "gc.sum-of-costs", "(J_plus + J_minus)", (APPROX, "(J_plus + J_minus) / (2 * epsilon)")),
        one_d("1d-denominator-of-sum", "gc.denominator", "np.linalg.norm(grad + gradapprox)",
              ("np.linalg.norm(grad) + np.linalg.norm(gradapprox)", "np.linalg.norm(grad + gradapprox)")),
        one_d("1d-denominator-minus", "gc.denominator", "np.linalg.norm(grad) - np.linalg.norm(gradapprox)",
              ("np.linalg.norm(grad) + np.linalg.norm(gradapprox)", "np.linalg.norm(grad) - np.linalg.norm(gradapprox)")),
        one_d("1d-numerator-of-norms", "gc.numerator", "numerator = np.linalg.norm(grad) - np.linalg.norm(gradapprox)",
              ("numerator = np.linalg.norm(grad - gradapprox)",
               "numerator = np.linalg.norm(grad) - np.linalg.norm(gradapprox)")),
        one_d("1d-perturbs-x", "gc.perturbs-input", "J_plus = forward_propagation(x + epsilon, theta)",
              ("forward_propagation(x, thetaplus)", "forward_propagation(x + epsilon, theta)"),
              ("forward_propagation(x, thetaminus)", "forward_propagation(x - epsilon, theta)")),
        one_d("1d-grad-is-gradapprox", "gc.grad-from-gradapprox", "grad = gradapprox",
              ("grad = backward_propagation(x, theta)", "grad = gradapprox")),
        one_d("1d-inline-cost", "gc.own-functions-not-called", "J_plus = thetaplus * x",
              ("forward_propagation(x, thetaplus)", "thetaplus * x"), ("forward_propagation(x, thetaminus)",
                                                                        "thetaminus * x")),
        # The course's own test passes this one (G8): x perturbed and J written out, right only because J is linear.
        one_d("1d-inline-cost-of-perturbed-x", "gc.own-functions-not-called", "J_plus = thetaplus * x",
              ("thetaplus = theta + epsilon", "thetaplus = x + epsilon"),
              ("thetaminus = theta - epsilon", "thetaminus = x - epsilon"),
              ("forward_propagation(x, thetaplus)", "thetaplus * x"), ("forward_propagation(x, thetaminus)",
                                                                        "thetaminus * x")),
        # Seen in a real notebook: right on the notebook's J = θ·x, whose derivative does not depend on θ.
        one_d("1d-derivative-at-gradapprox", "gc.derivative-at-wrong-point", "grad = backward_propagation(x, gradapprox)",
              ("grad = backward_propagation(x, theta)", "grad = backward_propagation(x, gradapprox)")),
        one_d("1d-derivative-at-theta-plus", "gc.derivative-at-wrong-point", "grad = backward_propagation(x, thetaplus)",
              ("grad = backward_propagation(x, theta)", "grad = backward_propagation(x, thetaplus)")),
        one_d("1d-inline-derivative", "gc.own-functions-not-called", "grad = x",
              ("grad = backward_propagation(x, theta)", "grad = x")),
        one_d("1d-inline-both", "gc.grad-from-gradapprox", "grad = x",
              ("forward_propagation(x, thetaplus)", "np.dot(thetaplus, x)"),
              ("forward_propagation(x, thetaminus)", "np.dot(thetaminus, x)"),
              ("grad = backward_propagation(x, theta)", "grad = x")),
    ]


def n_d_mutants() -> list[Mutant]:
    plus_v1 = "thetaplus[i][0] = thetaplus[i][0] + epsilon"
    minus_v1 = "thetaminus[i][0] = thetaminus[i][0] - epsilon"
    return [
        n_d("nd-row-into-scalar", "gc.numpy2-scalar-slot", "thetaplus[i][0] = thetaplus[i] + epsilon",
            (plus_v1, "thetaplus[i][0] = thetaplus[i] + epsilon"), (minus_v1, "thetaminus[i][0] = thetaminus[i] - epsilon")),
        n_d("nd-minus-from-plus", "gc.theta-minus-from-plus", "thetaminus[i][0] = thetaplus[i][0] - epsilon",
            (minus_v1, "thetaminus[i][0] = thetaplus[i][0] - epsilon")),
        n_d("nd-minus-from-plus-new", "gc.theta-minus-from-plus", "theta_minus[i] = theta_plus[i] - epsilon",
            ("theta_minus[i] = theta_minus[i] - epsilon", "theta_minus[i] = theta_plus[i] - epsilon"),
            template="new"),
        n_d("nd-aliased", "gc.theta-minus-from-plus", "thetaminus = parameters_values",
            ("thetaplus = np.copy(parameters_values)", "thetaplus = parameters_values"),
            ("thetaminus = np.copy(parameters_values)", "thetaminus = parameters_values")),
        n_d("nd-minus-shifted-up", "gc.sign-slip", "thetaminus[i][0] = thetaminus[i][0] + epsilon",
            (minus_v1, "thetaminus[i][0] = thetaminus[i][0] + epsilon")),
        n_d("nd-shifts-swapped-new", "gc.sign-slip", "theta_plus[i] = theta_plus[i] - epsilon",
            ("theta_plus[i] = theta_plus[i] + epsilon", "theta_plus[i] = theta_plus[i] - epsilon"),
            ("theta_minus[i] = theta_minus[i] - epsilon", "theta_minus[i] = theta_minus[i] + epsilon"), template="new"),
        n_d("nd-unperturbed-forward", "gc.sign-slip", "J_plus[i], _ = forward_propagation_n(X, Y, parameters)",
            ("vector_to_dictionary(thetaplus)", "parameters"), ("vector_to_dictionary(thetaminus)", "parameters")),
        n_d("nd-set-to-epsilon", "gc.set-to-epsilon", "thetaplus[i][0] = epsilon",
            (plus_v1, "thetaplus[i][0] = epsilon"), (minus_v1, "thetaminus[i][0] = -epsilon")),
        n_d("nd-whole-vector", "gc.whole-vector-shifted", "thetaplus = thetaplus + epsilon",
            (plus_v1, "thetaplus = thetaplus + epsilon"), (minus_v1, "thetaminus = thetaminus - epsilon")),
        n_d("nd-divides-by-epsilon", "gc.epsilon-divisor", "/ epsilon",
            (APPROX_N, "(J_plus[i] - J_minus[i]) / epsilon")),
        n_d("nd-one-sided", "gc.one-sided-difference", "gradapprox[i] = (J_plus[i] - J) / epsilon",
            ("    for i in range", "    J, _ = forward_propagation_n(X, Y, parameters)\n    for i in range"),
            (APPROX_N, "(J_plus[i] - J) / epsilon")),
        n_d("nd-precedence", "gc.precedence", "/ 2 * epsilon", (APPROX_N, "(J_plus[i] - J_minus[i]) / 2 * epsilon")),
        n_d("nd-precedence-minus-new", "gc.precedence", "J_plus[i] - J_minus[i] / (2 * epsilon)",
            (APPROX_N, "J_plus[i] - J_minus[i] / (2 * epsilon)"), template="new"),
        n_d("nd-sum-of-costs", "gc.sum-of-costs", "(J_plus[i] + J_minus[i])",
            (APPROX_N, "(J_plus[i] + J_minus[i]) / (2 * epsilon)")),
        n_d("nd-denominator-of-sum", "gc.denominator", "denominator = np.linalg.norm(grad + gradapprox)",
            ("np.linalg.norm(grad) + np.linalg.norm(gradapprox)", "np.linalg.norm(grad + gradapprox)")),
        n_d("nd-denominator-minus", "gc.denominator", "np.linalg.norm(grad) - np.linalg.norm(gradapprox)",
            ("np.linalg.norm(grad) + np.linalg.norm(gradapprox)", "np.linalg.norm(grad) - np.linalg.norm(gradapprox)")),
        n_d("nd-numerator-of-norms", "gc.numerator", "numerator = np.linalg.norm(grad) - np.linalg.norm(gradapprox)",
            ("numerator = np.linalg.norm(grad - gradapprox)",
             "numerator = np.linalg.norm(grad) - np.linalg.norm(gradapprox)")),
        n_d("nd-keepdims", "gc.norm-keepdims", "keepdims=True",
            ("np.linalg.norm(grad - gradapprox)", "np.linalg.norm(grad - gradapprox, keepdims=True)"),
            costs_points=False),
        # The course's own test passes this one on its buggy backward pass (G4): b3's gradient is right.
        n_d("nd-norms-of-last-entry", "gc.norm-of-one-entry", "numerator = np.linalg.norm(grad[i] - gradapprox[i])",
            (NORMS, "numerator = np.linalg.norm(grad[i] - gradapprox[i])\n    denominator = "
                    "np.linalg.norm(grad[i]) + np.linalg.norm(gradapprox[i])")),
        n_d("nd-numerator-of-last-entry", "gc.norm-of-one-entry", "numerator = np.linalg.norm(grad[i] - gradapprox[i])",
            ("numerator = np.linalg.norm(grad - gradapprox)", "numerator = np.linalg.norm(grad[i] - gradapprox[i])")),
        n_d("nd-perturbs-X", "gc.perturbs-input", "forward_propagation_n(X + epsilon, Y",
            ("forward_propagation_n(X, Y, vector_to_dictionary(thetaplus))",
             "forward_propagation_n(X + epsilon, Y, vector_to_dictionary(thetaplus))"),
            ("forward_propagation_n(X, Y, vector_to_dictionary(thetaminus))",
             "forward_propagation_n(X - epsilon, Y, vector_to_dictionary(thetaminus))")),
    ]


def backward_mutants() -> list[Mutant]:
    dw2 = ("dW2 = 1./m * np.dot(dZ2, A1.T)", "dW2 = 1./m * np.dot(dZ2, A1.T) * 2")
    db1 = ("db1 = 1./m * np.sum", "db1 = 4./m * np.sum")
    found_dw2 = Expected("gc.dW2-planted-bug", "backward_propagation_n", ("dW2",), "dW2 = 1./m * np.dot(dZ2, A1.T) * 2")
    found_db1 = Expected("gc.db1-planted-bug", "backward_propagation_n", ("db1",), "db1 = 4./m * np.sum")
    return [
        Mutant("backward-as-shipped", {"backward_propagation_n": [dw2, db1]}, (found_dw2, found_db1)),
        Mutant("backward-only-db1-fixed", {"backward_propagation_n": [dw2]}, (found_dw2,)),
        Mutant("backward-only-dW2-fixed", {"backward_propagation_n": [db1]}, (found_db1,)),
    ]


def template_mutants() -> list[Mutant]:
    """X1: the template's `None` placeholders left in: "not attempted", not a maths explanation."""
    return [
        Mutant("1d-template-left", {"gradient_check": [("thetaplus = theta + epsilon", "thetaplus = None"),
                                                       ("thetaminus = theta - epsilon", "thetaminus = None")]},
               (Expected("not-implemented", "gradient_check", (), "thetaplus = None"),)),
        Mutant("nd-template-left", {"gradient_check_n": [(APPROX_N, "None"),
                                                         ("numerator = np.linalg.norm(grad - gradapprox)",
                                                          "numerator = None")]},
               (Expected("not-implemented", "gradient_check_n", (), "gradapprox[i] = None"),)),
    ]


def all_mutants() -> list[Mutant]:
    return [*one_d_mutants(), *n_d_mutants(), *backward_mutants(), *template_mutants()]


def equivalent_forms() -> list[Mutant]:
    """Right code written otherwise: full marks, no finding."""
    return [
        Mutant("right-v1-template"),
        Mutant("right-new-template", {"gradient_check_n": NEW_TEMPLATE["gradient_check_n"]}),
        Mutant("right-augmented-shifts", {"gradient_check_n": [
            ("thetaplus[i][0] = thetaplus[i][0] + epsilon", "thetaplus[i] += epsilon"),
            ("thetaminus[i][0] = thetaminus[i][0] - epsilon", "thetaminus[i] -= epsilon")]}),
        Mutant("right-gradapprox-after-the-loop", {"gradient_check_n": [
            ("        gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)\n", ""),
            ("    numerator =", "    gradapprox = (J_plus - J_minus) / (2 * epsilon)\n    numerator =")]}),
        Mutant("right-shifts-inline-and-abs", {"gradient_check": [
            ("forward_propagation(x, thetaplus)", "forward_propagation(x, theta + epsilon)"),
            ("forward_propagation(x, thetaminus)", "forward_propagation(x, theta - epsilon)"),
            (APPROX, "(J_plus - J_minus) / 2 / epsilon"),
            ("numerator = np.linalg.norm(grad - gradapprox)", "numerator = np.abs(grad - gradapprox)")]}),
        # The v1 notebook's signatures: no print_msg, the message always printed.
        Mutant("right-v1-signatures", {
            "gradient_check": [("epsilon=1e-7, print_msg=False", "epsilon = 1e-7"), ("if print_msg:", "if True:")],
            "gradient_check_n": [("epsilon=1e-7, print_msg=False", "epsilon = 1e-7"), ("if print_msg:", "if True:")]}),
    ]


def diagnosis_matches(result, mutant: Mutant) -> tuple[bool, str]:
    """Whether the findings are exactly the expected ones (ids, outputs, a quoted line), and nothing else."""
    findings = [(exercise.function, finding) for exercise in result.exercises for finding in exercise.findings]
    for expected in mutant.expected:
        match = [finding for function, finding in findings if function == expected.function
                 and finding.id == expected.id and finding.outputs == expected.outputs]
        if not match:
            return False, f"no {expected.id} on {expected.outputs}: {[(f, x.id, x.outputs) for f, x in findings]}"
        quoted = [location.code for location in (match[0].location, *match[0].locations) if location is not None]
        if not any(expected.line in code for code in quoted):
            return False, f"{expected.id} quotes {quoted}, not {expected.line!r}"
    if len(findings) != len(mutant.expected):
        return False, f"extra findings: {[(f, x.id, x.outputs, x.evidence) for f, x in findings]}"
    return True, ""


if __name__ == "__main__":  # pragma: no cover - a summary for people
    import tempfile

    from grader.grade import Grader
    from grader.records import Limits

    with tempfile.TemporaryDirectory() as folder, Grader("gradient_checking", Limits(wall_seconds=5)) as grader:
        exact = 0
        for mutant in all_mutants():
            ok, why = diagnosis_matches(grader.grade(write(mutant, Path(folder))), mutant)
            exact += ok
            if not ok:
                print(f"{mutant.name}: {why}")
        clean = sum(grader.grade(write(mutant, Path(folder))).score == 10 for mutant in equivalent_forms())
        print(f"{exact}/{len(all_mutants())} mutants diagnosed exactly; "
              f"{clean}/{len(equivalent_forms())} equivalent forms at full marks")
