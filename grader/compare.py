"""Turn returned values into comparable arrays, and compare them with the reference.

Pure functions of decoded data: nothing here runs student code.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from grader.records import Outputs
from grader.sandbox.codec import Unsupported
from grader.spec import Exercise, Tolerance


def describe_type(value: Any) -> str:
    """A short name for what a function returned, as a student would call it."""
    if isinstance(value, Unsupported):
        return value.type_name
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    return type(value).__name__


def split_outputs(exercise: Exercise, returned: Any) -> Outputs:
    """Split a returned value into the exercise's named outputs."""
    if exercise.returns == "number":
        return _number_output(exercise.keys[0] if exercise.keys else "value", returned)
    if not isinstance(returned, dict):
        return Outputs({}, problem=f"returned {describe_type(returned)}, not a dict")
    values: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    unusable: list[str] = []
    for key in exercise.keys:
        if key in returned:
            array = _as_float_array(returned[key])
            if array is None:
                unusable.append(key)
                continue
            values[key] = array
            kinds[key] = np.asarray(returned[key]).dtype.kind
    if unusable:
        first = unusable[0]
        also = f" (nor {', '.join(unusable[1:])})" if len(unusable) > 1 else ""
        return Outputs({}, problem=f"{first} is {describe_type(returned[first])}, not an array of numbers{also}",
                       unusable=tuple(unusable))
    missing = tuple(key for key in exercise.keys if key not in returned)
    unknown = tuple(sorted(str(key) for key in returned if key not in exercise.keys))
    return Outputs(values, missing, unknown, kinds=kinds)


def _number_output(name: str, returned: Any) -> Outputs:
    array = _as_float_array(returned)
    if array is None:
        return Outputs({}, problem=f"returned {describe_type(returned)}, not a number")
    if array.size != 1:
        return Outputs({}, problem=f"returned an array of shape {array.shape}, not a single number")
    note = None
    if array.ndim > 0:
        note = f"returns an array of shape {array.shape}; return a plain number (np.squeeze or float())"
    return Outputs({name: array.reshape(())}, note=note, kinds={name: np.asarray(returned).dtype.kind})


def _as_float_array(value: Any) -> np.ndarray | None:
    if isinstance(value, bool) or value is None or isinstance(value, (str, Unsupported)):
        return None
    if isinstance(value, (int, float, np.generic, np.ndarray)):
        array = np.asarray(value)
        if array.dtype.kind in "biuf":
            return array.astype(np.float64)
    return None


def close(got: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> bool:
    """Whether two outputs agree: same shape, every entry within tolerance (NaN never agrees)."""
    if got.shape != expected.shape:
        return False
    # Operators and the array's own .all(): np.all and np.abs cost more than the arithmetic on small arrays.
    return bool((abs(got - expected) <= tolerance.atol + tolerance.rtol * abs(expected)).all())


def all_close(pairs: Iterable[tuple[np.ndarray | None, np.ndarray]], tolerance: Tolerance) -> bool:
    """Whether every (got, expected) pair is `close`: one comparison of all their entries at once."""
    gots, expecteds = [], []
    for got, expected in pairs:
        if got is None or got.shape != expected.shape:
            return False
        gots.append(got.ravel())
        expecteds.append(expected.ravel())
    return not gots or close(np.concatenate(gots), np.concatenate(expecteds), tolerance)


def expected_outputs(exercise: Exercise, value: Any) -> dict[str, np.ndarray]:
    """The reference's return value as named arrays (the reference is trusted to be well-formed)."""
    outputs = split_outputs(exercise, value)
    if outputs.problem or outputs.missing:
        raise ValueError(f"reference for {exercise.function} returned an unexpected value: {outputs.problem or outputs.missing}")
    return dict(outputs.values)
