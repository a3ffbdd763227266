"""Turn returned values into comparable arrays, and compare them with the reference.

Pure functions of decoded data: nothing here runs student code.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.assignment.model import Exercise, Returned, Tolerance
from grader.errors import SpecError
from grader.records import Outputs
from grader.sandbox.codec import Unsupported


def describe_type(value: Any) -> str:
    """A short name for what a function returned, as a student would call it."""
    if isinstance(value, Unsupported):
        return value.type_name
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    return type(value).__name__


def split_outputs(exercise: Exercise, returned: Any) -> Outputs:
    """Split a returned value into the exercise's named outputs (see grader.assignment.model.Returned)."""
    shape = exercise.returns
    if shape.kind == "number":
        return _number_output(shape.name, returned)
    found = _Found()
    problem = _split(shape, returned, "", found)
    if problem is None and found.unusable:
        first = found.unusable[0]
        also = f" (nor {', '.join(found.unusable[1:])})" if len(found.unusable) > 1 else ""
        problem = f"{first} is {found.types[first]}, not an array of numbers{also}"
    if problem is not None:
        return Outputs({}, problem=problem, unusable=tuple(found.unusable))
    note = None
    if found.lists:  # numpy computes with them as with the arrays they hold: judged by their values
        one = len(found.lists) == 1
        is_list, array, held, makes = (("is a list", "a NumPy array", "array it holds", "it one") if one else
                                       ("are lists", "NumPy arrays", "arrays they hold", "them arrays"))
        note = (f"{', '.join(found.lists)} {is_list} (of lists), not {array}; graded as the {held}: "
                f"np.array(...) makes {makes}")
    return Outputs(found.values, tuple(found.missing), tuple(sorted(found.unknown)), kinds=found.kinds, note=note)


@dataclass(slots=True)
class _Found:
    """What splitting found so far."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    lists: list[str] = field(default_factory=list)  # array outputs given as (nested) lists of numbers


def _split(shape: Returned, value: Any, prefix: str, found: _Found) -> str | None:
    """Put the outputs of `value` (shaped like `shape`, its names under `prefix`) in `found`; a problem, or None."""
    if shape.kind in ("number", "array"):
        name = prefix + shape.name
        array = _as_float_array(value)
        if array is None and shape.kind == "array" and isinstance(value, list):
            array = _list_as_array(value)
            if array is not None:
                found.lists.append(name)
        if array is None:
            found.unusable.append(name)
            found.types[name] = describe_type(value)
        else:
            found.values[name] = array
            found.kinds[name] = np.asarray(value).dtype.kind
        return None
    inner = f"{prefix}{shape.name}." if shape.name else prefix
    where = f"{prefix}{shape.name} " if shape.name else ""
    if shape.kind == "dict":
        if not isinstance(value, dict):
            return f"{where}is {describe_type(value)}, not a dict" if where else \
                f"returned {describe_type(value)}, not a dict"
        names = {item.name for item in shape.items}
        for item in shape.items:
            if item.name in value:
                problem = _split(item, value[item.name], inner, found)
                if problem:
                    return problem
            else:
                found.missing.extend(inner + output for output in item.outputs())
        found.unknown.extend(inner + str(key) for key in value if key not in names)
        return None
    if not isinstance(value, (tuple, list)) or len(value) != len(shape.items):
        got = f"a {type(value).__name__} of {len(value)}" if isinstance(value, (tuple, list)) else describe_type(value)
        expected = f"a tuple of {len(shape.items)} ({', '.join(item.name for item in shape.items)})"
        return f"{where}is {got}, not {expected}" if where else f"returned {got}, not {expected}"
    for item, element in zip(shape.items, value):
        problem = _split(item, element, inner, found)
        if problem:
            return problem
    return None


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


def _list_as_array(value: list) -> np.ndarray | None:
    """A rectangular list (of lists) of plain numbers or booleans as a float array, else None."""
    def numbers(item: Any, depth: int) -> bool:
        if isinstance(item, list):
            return depth < 8 and all(numbers(element, depth + 1) for element in item)
        return type(item) in (bool, int, float) or type(item) in _NUMPY_NUMBERS
    if not value or not numbers(value, 0):
        return None
    try:
        array = np.array(value, dtype=np.float64)
    except (ValueError, OverflowError):  # ragged
        return None
    return array if array.dtype == np.float64 else None


_NUMPY_NUMBERS = frozenset((np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                            np.uint64, np.float16, np.float32, np.float64))


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
        raise SpecError(f"the reference for {exercise.function} returned an unexpected value: "
                        f"{outputs.problem or outputs.missing}")
    return dict(outputs.values)
