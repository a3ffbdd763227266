"""The numerical gradient check: each returned gradient against central differences of the reference cost."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from grader.checks.registry import CheckContext, Reference, check
from grader.checks.values import errors_message

if TYPE_CHECKING:
    from grader.assignment.model import Probe


@check("gradient", required=("cost", "gradients"), cost=Reference, gradients=dict, epsilon=float, threshold=float,
       max_probes=int)
def _gradient(context: CheckContext) -> tuple[float, str]:
    """Each returned gradient agrees with central differences of the reference cost.

    `cost` gives, for a probe's arguments, (the parameters, the cost as their function);
    `gradients` maps each parameter to the output holding its gradient.
    """
    options = context.spec.options
    threshold = options.get("threshold", 1e-6)
    gradients = options["gradients"]
    problem = errors_message(context.trials)
    if problem:
        return 0.0, problem
    worst: dict[str, tuple[float, str]] = {}
    for trial in context.trials[: options.get("max_probes", len(context.trials))]:
        assert trial.got is not None
        for name, numeric in _numerical_gradients(context, trial.probe).items():
            difference = relative_difference(trial.got.values.get(gradients[name]), numeric)
            if difference > worst.get(name, (-1.0, ""))[0]:
                worst[name] = (difference, trial.label)
    failing = {name: item for name, item in worst.items() if not item[0] <= threshold}
    if not failing:
        return 1.0, f"every gradient agrees with the numerical gradient (threshold {threshold:g})"
    parts = [f"{gradients[name]}: relative difference {difference:.2g} on '{probe}'"
             for name, (difference, probe) in failing.items()]
    return 1.0 - len(failing) / len(worst), "; ".join(parts)


# The numerical gradients depend only on the probe, not on the student: computed once per process.
_NUMERICAL_GRADIENTS: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}


def _numerical_gradients(context: CheckContext, probe: Probe) -> dict[str, np.ndarray]:
    key = (context.assignment.fingerprint, context.exercise.function, probe.name)
    if key not in _NUMERICAL_GRADIENTS:
        options = context.spec.options
        parameters, cost = options["cost"](*probe.arguments)
        epsilon = options.get("epsilon", 1e-6)
        _NUMERICAL_GRADIENTS[key] = {name: numerical_gradient(cost, parameters, name, epsilon) for name in parameters}
    return _NUMERICAL_GRADIENTS[key]


def numerical_gradient(cost: Callable[[dict], float], parameters: Mapping[str, np.ndarray], name: str,
                       epsilon: float) -> np.ndarray:
    """Central differences of `cost` with respect to `parameters[name]`, entry by entry."""
    shifted = {key: np.array(value, dtype=np.float64) for key, value in parameters.items()}
    target = shifted[name]
    gradient = np.zeros_like(target)
    for index in np.ndindex(target.shape):
        original = target[index]
        target[index] = original + epsilon
        plus = cost(shifted)
        target[index] = original - epsilon
        minus = cost(shifted)
        target[index] = original
        gradient[index] = (plus - minus) / (2 * epsilon)
    return gradient


def relative_difference(analytic: np.ndarray | None, numeric: np.ndarray) -> float:
    """‖g − ĝ‖ / (‖g‖ + ‖ĝ‖); infinite when the gradient is missing or misshapen."""
    if analytic is None or analytic.shape != numeric.shape:
        return float("inf")
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if denominator == 0:
        return 0.0
    difference = float(np.linalg.norm(analytic - numeric) / denominator)
    return difference if np.isfinite(difference) else float("inf")
