"""Pins the Regularization reference: solutions, provided helpers and probes."""

import ast
import importlib
import json
import subprocess
import sys
import types
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

FOLDER = Path(__file__).resolve().parents[1] / "reference" / "regularization"
PACKAGE = "_reference_regularization"

GRADIENT_KEYS = {"dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"}
COURSE_LAMBDAS = {0.1, 0.7}


def load(name: str) -> ModuleType:
    """Import ``name`` from the reference folder the way the grader does (package by path)."""
    if PACKAGE not in sys.modules:
        package = types.ModuleType(PACKAGE)
        package.__path__ = [str(FOLDER)]
        sys.modules[PACKAGE] = package
    return importlib.import_module(f"{PACKAGE}.{name}")


provided = load("provided")
solution = load("solution")
probes = load("probes")

COST_PROBES = probes.cost_probes()
BACKWARD_PROBES = probes.backward_probes()


def by_name(probe_list: list[dict]) -> dict:
    """Parametrize keyword arguments that label each case with its probe's name."""
    return {"argvalues": probe_list, "ids": [probe["name"] for probe in probe_list]}


def weights_of(probe: dict, kind: str) -> list[np.ndarray]:
    """Return W1, W2, W3 of a cost or backward probe."""
    if kind == "cost":
        parameters = probe["arguments"][2]
        return [parameters[f"W{layer}"] for layer in (1, 2, 3)]
    cache = probe["arguments"][2]
    return [cache[2], cache[6], cache[10]]


def biases_of(probe: dict, kind: str) -> list[np.ndarray]:
    """Return b1, b2, b3 of a cost or backward probe."""
    if kind == "cost":
        parameters = probe["arguments"][2]
        return [parameters[f"b{layer}"] for layer in (1, 2, 3)]
    cache = probe["arguments"][2]
    return [cache[3], cache[7], cache[11]]


def m_of(probe: dict) -> int:
    """Return the number of examples of a probe (columns of Y, the second argument)."""
    return probe["arguments"][1].shape[1]


def central_difference_gradient(cost, parameters: dict[str, np.ndarray], name: str,
                                epsilon: float = 1e-6) -> np.ndarray:
    """Estimate dcost/dparameters[name] entry by entry with central differences."""
    estimate = np.zeros_like(parameters[name])
    for index in np.ndindex(parameters[name].shape):
        original = parameters[name][index]
        parameters[name][index] = original + epsilon
        plus = cost(parameters)
        parameters[name][index] = original - epsilon
        minus = cost(parameters)
        parameters[name][index] = original
        estimate[index] = (plus - minus) / (2 * epsilon)
    return estimate


# --- solution ---------------------------------------------------------------------------


@pytest.mark.parametrize("probe", **by_name(BACKWARD_PROBES))
def test_reference_backward_matches_central_differences_of_the_regularized_cost(probe):
    grads = solution.backward_propagation_with_regularization(*probe["arguments"])
    parameters, cost = solution.gradient_check_cost(*probe["arguments"])
    assert set(parameters) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    for name in parameters:
        analytic = grads["d" + name]
        numeric = central_difference_gradient(cost, parameters, name)
        assert analytic.shape == numeric.shape
        scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        difference = np.linalg.norm(analytic - numeric)
        assert difference <= 1e-7 * scale, f"d{name}: relative difference {difference / scale}"


@pytest.mark.parametrize("probe", **by_name(COST_PROBES))
def test_reference_cost_is_cross_entropy_plus_frobenius_penalty(probe):
    A3, Y, parameters, lambd = probe["arguments"]
    cost = solution.compute_cost_with_regularization(A3, Y, parameters, lambd)
    m = Y.shape[1]
    cross_entropy = -np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3))
    penalty = sum(np.linalg.norm(W, "fro") ** 2 for W in weights_of(probe, "cost"))
    assert type(cost) is float
    assert cost == pytest.approx(cross_entropy + lambd / (2 * m) * penalty, rel=1e-12)
    assert cost == pytest.approx(provided.compute_cost(A3, Y) + lambd / (2 * m) * penalty,
                                 rel=1e-12)


@pytest.mark.parametrize("probe", **by_name(BACKWARD_PROBES))
def test_reference_backward_at_lambda_zero_equals_the_provided_backward(probe):
    X, Y, cache, _ = probe["arguments"]
    regularized = solution.backward_propagation_with_regularization(X, Y, cache, 0.0)
    plain = provided.backward_propagation(X, Y, cache)
    assert set(regularized) == set(plain) == GRADIENT_KEYS
    for key in GRADIENT_KEYS:
        np.testing.assert_allclose(regularized[key], plain[key], rtol=1e-14, atol=0, err_msg=key)


@pytest.mark.parametrize("probe", **by_name(BACKWARD_PROBES))
def test_reference_backward_adds_lambda_over_m_times_w_to_weight_gradients_only(probe):
    X, Y, cache, lambd = probe["arguments"]
    regularized = solution.backward_propagation_with_regularization(X, Y, cache, lambd)
    plain = provided.backward_propagation(X, Y, cache)
    m = X.shape[1]
    weights = dict(zip(("dW1", "dW2", "dW3"), weights_of(probe, "backward")))
    for key in GRADIENT_KEYS:
        added = weights[key] * lambd / m if key in weights else np.zeros_like(plain[key])
        np.testing.assert_allclose(regularized[key] - plain[key], added, atol=1e-12,
                                   err_msg=key)


def test_gradient_check_cost_parameters_are_copies_of_the_cache():
    X, Y, cache, lambd = BACKWARD_PROBES[0]["arguments"]
    before = [array.copy() for array in cache]
    parameters, cost = solution.gradient_check_cost(X, Y, cache, lambd)
    for array in parameters.values():
        array += 1.0
    cost(parameters)
    for original, current in zip(before, cache):
        np.testing.assert_array_equal(original, current)


# --- probes -----------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [probes.cost_probes, probes.backward_probes])
def test_probes_are_reproducible(factory):
    first, second = factory(), factory()
    assert [probe["name"] for probe in first] == [probe["name"] for probe in second]
    for a, b in zip(first, second):
        for x, y in zip(a["arguments"], b["arguments"]):
            if isinstance(x, dict):
                assert x.keys() == y.keys()
                for key in x:
                    np.testing.assert_array_equal(x[key], y[key])
            elif isinstance(x, tuple):
                for u, v in zip(x, y, strict=True):
                    np.testing.assert_array_equal(u, v)
            else:
                np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("kind", ["cost", "backward"])
def test_probe_set_covers_lambda_m_and_weight_shapes(kind):
    probe_list = COST_PROBES if kind == "cost" else BACKWARD_PROBES
    assert len(probe_list) >= 8
    names = [probe["name"] for probe in probe_list]
    assert len(set(names)) == len(names) and all(names)

    lambdas = [probe["arguments"][3] for probe in probe_list]
    assert all(type(lambd) is float for lambd in lambdas)
    assert 0.0 in lambdas and 0.7 in lambdas
    assert len({lambd for lambd in lambdas if lambd not in COURSE_LAMBDAS | {0.0}}) >= 3

    ms = [m_of(probe) for probe in probe_list]
    assert 1 in ms and ms.count(1) == 1
    assert len(set(ms)) >= 6

    shapes = [[W.shape for W in weights_of(probe, kind)] for probe in probe_list]
    assert any(s1[0] == s1[1] and s2[0] == s2[1] for s1, s2, _ in shapes)
    assert any(s1[0] != s1[1] and s2[0] == s2[1] for s1, s2, _ in shapes)
    assert any(s1[0] != s1[1] and s2[0] != s2[1] for s1, s2, _ in shapes)


@pytest.mark.parametrize("kind", ["cost", "backward"])
def test_probe_weights_have_both_signs_and_distinct_sums_far_from_zero(kind):
    probe_list = COST_PROBES if kind == "cost" else BACKWARD_PROBES
    sums = []
    for probe in probe_list:
        for W in weights_of(probe, kind):
            if W.size > 1:
                assert W.min() < 0 < W.max(), probe["name"]
            assert abs(W.sum()) >= 0.1, probe["name"]
        for b in biases_of(probe, kind):
            assert np.all(b != 0), probe["name"]
        sums.append(tuple(round(float(W.sum()), 6) for W in weights_of(probe, kind)))
    for layer in range(3):
        layer_sums = [probe_sums[layer] for probe_sums in sums]
        assert len(set(layer_sums)) == len(layer_sums)


@pytest.mark.parametrize("probe", **by_name(COST_PROBES))
def test_cost_probe_arrays_are_well_formed(probe):
    A3, Y, parameters, _ = probe["arguments"]
    m = Y.shape[1]
    assert A3.shape == Y.shape == (1, m)
    assert all(array.dtype == np.float64 for array in (A3, Y, *parameters.values()))
    assert np.all((A3 > 0) & (A3 < 1))
    assert set(np.unique(Y)) <= {0.0, 1.0}
    if m >= 2:
        assert 0 < Y.sum() < m
    W1, W2, W3 = weights_of(probe, "cost")
    assert W2.shape[1] == W1.shape[0] and W3.shape == (1, W2.shape[0])


@pytest.mark.parametrize("probe", **by_name(BACKWARD_PROBES))
def test_backward_probe_cache_is_a_forward_pass_with_live_and_dead_relus(probe):
    X, Y, cache, _ = probe["arguments"]
    m = X.shape[1]
    assert len(cache) == 12
    assert all(array.dtype == np.float64 for array in (X, Y, *cache))
    W1, b1, W2, b2, W3, b3 = (cache[i] for i in (2, 3, 6, 7, 10, 11))
    A3, expected = provided.forward_propagation(
        X, {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3})
    for got, want in zip(cache, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert Y.shape == (1, m) and set(np.unique(Y)) <= {0.0, 1.0}
    if m >= 2:
        assert 0 < Y.sum() < m
    assert np.all((A3 > 0) & (A3 < 1))
    for activation in (cache[1], cache[5]):
        active = activation > 0
        assert active.any() and not active.all(), "a hidden layer is all dead or all alive"


# --- provided helpers -------------------------------------------------------------------


def test_provided_module_imports_only_numpy_and_the_standard_library():
    tree = ast.parse((FOLDER / "provided.py").read_text(encoding="utf-8"))
    allowed = set(sys.stdlib_module_names) | {"numpy"}
    lazy = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    lazy[id(node)] = function.name
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, "provided.py is served alone; no relative imports"
            roots = [node.module.split(".")[0]]
        elif isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        else:
            continue
        for root in roots:
            # Only plotting may pull in matplotlib, and only when it is called.
            if lazy.get(id(node)) == "plot_decision_boundary" and root == "matplotlib":
                continue
            assert root in allowed, f"line {node.lineno} imports {root}"


FOREIGN_MODULES_SCRIPT = """
import importlib.util, json, sys, sysconfig
import numpy
paths = sysconfig.get_paths()
site = (paths["purelib"], paths["platlib"])
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("reg_utils", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
files = [getattr(sys.modules[name], "__file__", None) for name in set(sys.modules) - before]
foreign = [f for f in files if f and not f.startswith(numpy.__path__[0])
           and (f.startswith(site) or not f.startswith(paths["stdlib"]))]
print(json.dumps(sorted(foreign)))
"""


def test_provided_module_loads_alone_under_a_course_module_name():
    # Judged by file location in a fresh interpreter: numpy also loads Cython runtime
    # modules whose names are neither "numpy" nor in the standard library.
    completed = subprocess.run(
        [sys.executable, "-c", FOREIGN_MODULES_SCRIPT, str(FOLDER / "provided.py")],
        capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(completed.stdout) == []


def test_provided_test_cases_have_the_course_shapes():
    A3, Y, parameters = provided.compute_cost_with_regularization_test_case()
    assert A3.shape == Y.shape == (1, 5)
    assert {name: array.shape for name, array in parameters.items()} == {
        "W1": (2, 3), "b1": (2, 1), "W2": (3, 2), "b2": (3, 1), "W3": (1, 3), "b3": (1, 1)}
    X, Y, cache = provided.backward_propagation_with_regularization_test_case()
    assert X.shape == (3, 5) and Y.shape == (1, 5) and len(cache) == 12
    assert isinstance(solution.compute_cost_with_regularization(A3, Y, parameters, 0.1), float)
    assert set(solution.backward_propagation_with_regularization(X, Y, cache, 0.7)) == GRADIENT_KEYS


def test_provided_compute_cost_ignores_nan_terms_and_returns_a_float():
    cost = provided.compute_cost(np.array([[1.0, 0.5]]), np.array([[1.0, 0.0]]))
    assert type(cost) is float
    assert cost == pytest.approx(np.log(2) / 2)


def test_provided_training_helpers_work_together():
    train_X, train_Y, test_X, test_Y = provided.load_2D_dataset()
    assert train_X.shape == (2, 211) and train_Y.shape == (1, 211)
    assert test_X.shape == (2, 200) and test_Y.shape == (1, 200)
    assert 0 < train_Y.sum() < 211
    np.testing.assert_array_equal(provided.load_2D_dataset()[0], train_X)

    parameters = provided.initialize_parameters([2, 20, 3, 1])
    assert parameters["W2"].shape == (3, 20) and not parameters["b2"].any()
    _, cache = provided.forward_propagation(train_X, parameters)
    grads = provided.backward_propagation(train_X, train_Y, cache)
    W1 = parameters["W1"]
    updated = provided.update_parameters(parameters, grads, 0.3)
    np.testing.assert_allclose(updated["W1"], W1 - 0.3 * grads["dW1"])

    predictions = provided.predict(test_X, test_Y, updated)
    assert predictions.shape == (1, 200) and set(np.unique(predictions)) <= {0, 1}
    assert provided.predict_dec(updated, test_X).dtype == bool


def test_recorded_draws_are_the_first_that_meet_the_probe_constraints():
    probes = load("probes")
    recorded = [(layout.name, layout.cost_attempt, layout.backward_attempt) for layout in probes._LAYOUTS]
    assert recorded == probes.first_valid_attempts()
