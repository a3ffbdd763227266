"""The catalogue's mistakes (../shared/GRADIENT_CHECKING.md), each written as the wrong function a student writes.

Each variant is called like the reference: the probe's arguments, and the functions the
exercise replaces as keyword arguments. The grader reports a variant's mistake when a student's
number is the variant's on every probe; `grade check-spec` checks that the probes tell every
variant apart from the reference and from the other mistakes' (a difference of exactly 1, say,
comes from several slips that make gradapprox 0 or −grad: they are one mistake, `gc.sign-slip`).

The two skeletons below are the reference's steps, each one replaceable; a variant says which
step it gets wrong.
"""

import numpy as np

from grader.authoring import variant

from . import provided
from .solution import backward_propagation_n as fixed_backward_propagation_n

THETA_LINES = ("thetaplus", "thetaminus", "theta_plus", "theta_minus")
MINUS_LINES = ("thetaminus", "theta_minus")
COST_LINES = ("J_plus", "J_minus")
# J⁺ and J⁻ taken at the same point (or the shifts swapped) give the same numbers whichever line did it: the θ
# lines or the J lines. A sign slip quotes both.
SHIFT_LINES = THETA_LINES + COST_LINES
DIFFERENCE_LINES = ("numerator", "denominator", "difference")


def _relative(grad, gradapprox):
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))


def _central(j_plus, j_minus, epsilon):
    return (j_plus - j_minus) / (2 * epsilon)


# ---- gradient_check (1-D) --------------------------------------------------------------------


def _check(x, theta, epsilon, forward, backward, thetas=lambda theta, epsilon: (theta + epsilon, theta - epsilon),
           costs=None, approx=_central, grad=None, difference=_relative):
    plus, minus = thetas(theta, epsilon)
    j_plus, j_minus = costs(x, plus, minus) if costs else (forward(x, plus), forward(x, minus))
    gradapprox = approx(j_plus, j_minus, epsilon)
    return difference(grad(x, theta, gradapprox, backward) if grad else backward(x, theta), gradapprox)


def _named(function, name):
    function.__name__ = function.__qualname__ = name
    return function


def _variant_1d(name, mistake_id, points_at, **steps):
    """A variant of gradient_check, called `name`, that gets the steps in `steps` wrong."""
    @variant(mistake_id, function="gradient_check", points_at=points_at)
    def wrong(x, theta, epsilon=1e-7, *, forward_propagation, backward_propagation):
        return _check(x, theta, epsilon, forward_propagation, backward_propagation, **steps)

    return _named(wrong, name)


minus_from_plus_1d = _variant_1d("minus_from_plus_1d", "gc.theta-minus-from-plus", MINUS_LINES,
                                 thetas=lambda theta, epsilon: (theta + epsilon, theta + epsilon - epsilon))
minus_shifted_up_1d = _variant_1d("minus_shifted_up_1d", "gc.sign-slip", SHIFT_LINES,
                                  thetas=lambda theta, epsilon: (theta + epsilon, theta + epsilon))
shifts_swapped_1d = _variant_1d("shifts_swapped_1d", "gc.sign-slip", SHIFT_LINES,
                                thetas=lambda theta, epsilon: (theta - epsilon, theta + epsilon))
divides_by_epsilon_1d = _variant_1d("divides_by_epsilon_1d", "gc.epsilon-divisor", ("gradapprox",),
                                    approx=lambda j_plus, j_minus, epsilon: (j_plus - j_minus) / epsilon)
precedence_1d = _variant_1d("precedence_1d", "gc.precedence", ("gradapprox",),
                            approx=lambda j_plus, j_minus, epsilon: (j_plus - j_minus) / 2 * epsilon)
precedence_minus_only_1d = _variant_1d("precedence_minus_only_1d", "gc.precedence", ("gradapprox",),
                                       approx=lambda j_plus, j_minus, epsilon: j_plus - j_minus / (2 * epsilon))
sum_of_costs_1d = _variant_1d("sum_of_costs_1d", "gc.sum-of-costs", ("gradapprox",),
                              approx=lambda j_plus, j_minus, epsilon: (j_plus + j_minus) / (2 * epsilon))
denominator_of_sum_1d = _variant_1d("denominator_of_sum_1d", "gc.denominator", ("denominator",),
                                    difference=lambda g, a: np.linalg.norm(g - a) / np.linalg.norm(g + a))
denominator_minus_1d = _variant_1d(
    "denominator_minus_1d", "gc.denominator", ("denominator",),
    difference=lambda g, a: np.linalg.norm(g - a) / (np.linalg.norm(g) - np.linalg.norm(a)))
numerator_of_norms_1d = _variant_1d(
    "numerator_of_norms_1d", "gc.numerator", ("numerator",),
    difference=lambda g, a: (np.linalg.norm(g) - np.linalg.norm(a)) / (np.linalg.norm(g) + np.linalg.norm(a)))
grad_is_gradapprox_1d = _variant_1d("grad_is_gradapprox_1d", "gc.grad-from-gradapprox", ("grad",),
                                    grad=lambda x, theta, gradapprox, backward: gradapprox)
# backward_propagation called at another point than θ (seen in a real notebook: at gradapprox); on the notebook's
# J = θ·x it makes no difference, since dθ = x whatever θ is.
derivative_at_gradapprox_1d = _variant_1d(
    "derivative_at_gradapprox_1d", "gc.derivative-at-wrong-point", ("grad",),
    grad=lambda x, theta, gradapprox, backward: backward(x, gradapprox))


@variant("gc.derivative-at-wrong-point", function="gradient_check", points_at=("grad",))
def derivative_at_theta_plus_1d(x, theta, epsilon=1e-7, *, forward_propagation, backward_propagation):
    gradapprox = _central(forward_propagation(x, theta + epsilon), forward_propagation(x, theta - epsilon), epsilon)
    return _relative(backward_propagation(x, theta + epsilon), gradapprox)


@variant("gc.one-sided-difference", function="gradient_check", points_at=("gradapprox",))
def one_sided_1d(x, theta, epsilon=1e-7, *, forward_propagation, backward_propagation):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta)) / epsilon
    return _relative(backward_propagation(x, theta), gradapprox)


@variant("gc.sign-slip", function="gradient_check", points_at=SHIFT_LINES)
def unperturbed_forward_1d(x, theta, epsilon=1e-7, *, forward_propagation, backward_propagation):
    return _relative(backward_propagation(x, theta), _central(forward_propagation(x, theta),
                                                              forward_propagation(x, theta), epsilon))


@variant("gc.perturbs-input", function="gradient_check", points_at=COST_LINES)
def perturbs_x_1d(x, theta, epsilon=1e-7, *, forward_propagation, backward_propagation):
    gradapprox = _central(forward_propagation(x + epsilon, theta), forward_propagation(x - epsilon, theta), epsilon)
    return _relative(backward_propagation(x, theta), gradapprox)


# The notebook's J = θ·x written out instead of calling forward_propagation (as `thetaplus * x`, or, the same
# numbers, `(x + epsilon) * x`), and its dθ = x instead of calling backward_propagation: right for that J only.
inline_cost_1d = _variant_1d("inline_cost_1d", "gc.own-functions-not-called", COST_LINES,
                             costs=lambda x, plus, minus: (plus * x, minus * x))
inline_derivative_1d = _variant_1d("inline_derivative_1d", "gc.own-functions-not-called", ("grad",),
                                   grad=lambda x, theta, gradapprox, backward: x)
# Both written out gives x against x, whatever the probe's J and dθ: the numbers of grad = gradapprox.
inline_both_1d = _variant_1d("inline_both_1d", "gc.grad-from-gradapprox", ("grad",),
                             costs=lambda x, plus, minus: (plus * x, minus * x),
                             grad=lambda x, theta, gradapprox, backward: x)


# ---- gradient_check_n ------------------------------------------------------------------------


def _shift_both(theta, i, epsilon):
    plus, minus = np.copy(theta), np.copy(theta)
    plus[i, 0] += epsilon
    minus[i, 0] -= epsilon
    return plus, minus


def _check_n(parameters, gradients, X, Y, epsilon, forward, shift=_shift_both, cost=None, approx=_central,
             difference=_relative):
    theta, _ = provided.dictionary_to_vector(parameters)
    grad = provided.gradients_to_vector(gradients)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = shift(theta, i, epsilon)
        if cost:
            j_plus, j_minus = cost(forward, X, Y, plus, parameters), cost(forward, X, Y, minus, parameters)
        else:
            j_plus = forward(X, Y, provided.vector_to_dictionary(plus))[0]
            j_minus = forward(X, Y, provided.vector_to_dictionary(minus))[0]
        gradapprox[i, 0] = approx(j_plus, j_minus, epsilon)
    return difference(grad, gradapprox)


def _variant_n(name, mistake_id, points_at, **steps):
    """A variant of gradient_check_n, called `name`, that gets the steps in `steps` wrong."""
    @variant(mistake_id, function="gradient_check_n", points_at=points_at)
    def wrong(parameters, gradients, X, Y, epsilon=1e-7, *, forward_propagation_n):
        return _check_n(parameters, gradients, X, Y, epsilon, forward_propagation_n, **steps)

    return _named(wrong, name)


def _shift(plus_by, minus_by, whole=False, set_to=False):
    def shift(theta, i, epsilon):
        plus, minus = np.copy(theta), np.copy(theta)
        if whole:
            return plus + plus_by * epsilon, minus + minus_by * epsilon
        plus[i, 0] = plus_by * epsilon if set_to else plus[i, 0] + plus_by * epsilon
        minus[i, 0] = minus_by * epsilon if set_to else minus[i, 0] + minus_by * epsilon
        return plus, minus
    return shift


def _minus_from_plus(theta, i, epsilon):
    plus, minus = np.copy(theta), np.copy(theta)
    plus[i, 0] += epsilon
    minus[i, 0] = plus[i, 0] - epsilon
    return plus, minus


# θ⁻ from θ⁺ and one array for both give the same numbers; the θ⁻ lines are where either shows.
minus_from_plus_n = _variant_n("minus_from_plus_n", "gc.theta-minus-from-plus", MINUS_LINES, shift=_minus_from_plus)
minus_shifted_up_n = _variant_n("minus_shifted_up_n", "gc.sign-slip", SHIFT_LINES, shift=_shift(+1, +1))
shifts_swapped_n = _variant_n("shifts_swapped_n", "gc.sign-slip", SHIFT_LINES, shift=_shift(-1, +1))
unperturbed_forward_n = _variant_n("unperturbed_forward_n", "gc.sign-slip", SHIFT_LINES,
                                   cost=lambda forward, X, Y, vector, parameters: forward(X, Y, parameters)[0])
set_to_epsilon_n = _variant_n("set_to_epsilon_n", "gc.set-to-epsilon", THETA_LINES, shift=_shift(+1, -1, set_to=True))
whole_vector_n = _variant_n("whole_vector_n", "gc.whole-vector-shifted", THETA_LINES, shift=_shift(+1, -1, whole=True))
divides_by_epsilon_n = _variant_n("divides_by_epsilon_n", "gc.epsilon-divisor", ("gradapprox",),
                                  approx=lambda j_plus, j_minus, epsilon: (j_plus - j_minus) / epsilon)
precedence_n = _variant_n("precedence_n", "gc.precedence", ("gradapprox",),
                          approx=lambda j_plus, j_minus, epsilon: (j_plus - j_minus) / 2 * epsilon)
precedence_minus_only_n = _variant_n("precedence_minus_only_n", "gc.precedence", ("gradapprox",),
                                     approx=lambda j_plus, j_minus, epsilon: j_plus - j_minus / (2 * epsilon))
sum_of_costs_n = _variant_n("sum_of_costs_n", "gc.sum-of-costs", ("gradapprox",),
                            approx=lambda j_plus, j_minus, epsilon: (j_plus + j_minus) / (2 * epsilon))
denominator_of_sum_n = _variant_n("denominator_of_sum_n", "gc.denominator", ("denominator",),
                                  difference=lambda g, a: np.linalg.norm(g - a) / np.linalg.norm(g + a))
denominator_minus_n = _variant_n(
    "denominator_minus_n", "gc.denominator", ("denominator",),
    difference=lambda g, a: np.linalg.norm(g - a) / (np.linalg.norm(g) - np.linalg.norm(a)))
numerator_of_norms_n = _variant_n(
    "numerator_of_norms_n", "gc.numerator", ("numerator",),
    difference=lambda g, a: (np.linalg.norm(g) - np.linalg.norm(a)) / (np.linalg.norm(g) + np.linalg.norm(a)))
keeps_dims_n = _variant_n(
    "keeps_dims_n", "gc.norm-keepdims", DIFFERENCE_LINES,
    difference=lambda g, a: np.linalg.norm(g - a, keepdims=True) / (
        np.linalg.norm(g, keepdims=True) + np.linalg.norm(a, keepdims=True)))
last_entry_n = _variant_n(
    "last_entry_n", "gc.norm-of-one-entry", DIFFERENCE_LINES,
    difference=lambda g, a: np.linalg.norm(g[-1] - a[-1]) / (np.linalg.norm(g[-1]) + np.linalg.norm(a[-1])))
last_entry_numerator_n = _variant_n(
    "last_entry_numerator_n", "gc.norm-of-one-entry", DIFFERENCE_LINES,
    difference=lambda g, a: np.linalg.norm(g[-1] - a[-1]) / (np.linalg.norm(g) + np.linalg.norm(a)))


@variant("gc.one-sided-difference", function="gradient_check_n", points_at=("gradapprox",))
def one_sided_n(parameters, gradients, X, Y, epsilon=1e-7, *, forward_propagation_n):
    def cost(vector):
        return forward_propagation_n(X, Y, provided.vector_to_dictionary(vector))[0]

    theta, _ = provided.dictionary_to_vector(parameters)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus = np.copy(theta)
        plus[i, 0] += epsilon
        gradapprox[i, 0] = (cost(plus) - cost(theta)) / epsilon
    return _relative(provided.gradients_to_vector(gradients), gradapprox)


@variant("gc.perturbs-input", function="gradient_check_n", points_at=COST_LINES)
def perturbs_x_n(parameters, gradients, X, Y, epsilon=1e-7, *, forward_propagation_n):
    """`forward_propagation_n(X + epsilon, ...)` for J⁺ and `X - epsilon` for J⁻, besides θ's shifts."""
    theta, _ = provided.dictionary_to_vector(parameters)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = _shift_both(theta, i, epsilon)
        j_plus = forward_propagation_n(X + epsilon, Y, provided.vector_to_dictionary(plus))[0]
        j_minus = forward_propagation_n(X - epsilon, Y, provided.vector_to_dictionary(minus))[0]
        gradapprox[i, 0] = _central(j_plus, j_minus, epsilon)
    return _relative(provided.gradients_to_vector(gradients), gradapprox)


@variant("gc.theta-minus-from-plus", function="gradient_check_n", points_at=THETA_LINES)
def aliased_without_copy_n(parameters, gradients, X, Y, epsilon=1e-7, *, forward_propagation_n):
    """`thetaplus = parameters_values` and `thetaminus = parameters_values`: one array, shifted by +ε then back."""
    values, _ = provided.dictionary_to_vector(parameters)
    gradapprox = np.zeros_like(values)
    for i in range(values.shape[0]):
        plus = values
        plus[i, 0] = plus[i, 0] + epsilon
        j_plus = forward_propagation_n(X, Y, provided.vector_to_dictionary(plus))[0]
        minus = values
        minus[i, 0] = minus[i, 0] - epsilon
        j_minus = forward_propagation_n(X, Y, provided.vector_to_dictionary(minus))[0]
        gradapprox[i, 0] = _central(j_plus, j_minus, epsilon)
    return _relative(provided.gradients_to_vector(gradients), gradapprox)


@variant("gc.numpy2-scalar-slot", function="gradient_check_n")
def row_into_scalar_slot_n(parameters, gradients, X, Y, epsilon=1e-7, *, forward_propagation_n):
    """`thetaplus[i][0] = thetaplus[i] + epsilon`: a deprecation warning before NumPy 2, an error since."""
    theta, _ = provided.dictionary_to_vector(parameters)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = np.copy(theta), np.copy(theta)
        plus[i][0] = plus[i] + epsilon
        minus[i][0] = minus[i] - epsilon
        j_plus = forward_propagation_n(X, Y, provided.vector_to_dictionary(plus))[0]
        j_minus = forward_propagation_n(X, Y, provided.vector_to_dictionary(minus))[0]
        gradapprox[i, 0] = _central(j_plus, j_minus, epsilon)
    return _relative(provided.gradients_to_vector(gradients), gradapprox)


# ---- backward_propagation_n: the course's planted bugs, one left ------------------------------


def _with_bug(name, output, wrong):
    @variant(f"gc.{output}-planted-bug", function="backward_propagation_n", points_at=(output,))
    def planted(X, Y, cache):
        gradients = fixed_backward_propagation_n(X, Y, cache)
        gradients[output] = wrong(gradients[output])
        return gradients

    return _named(planted, name)


dW2_bug_left = _with_bug("dW2_bug_left", "dW2", lambda dW2: dW2 * 2)
db1_bug_left = _with_bug("db1_bug_left", "db1", lambda db1: db1 * 4)
