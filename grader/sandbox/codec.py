"""A strict, non-executing wire format for values that cross process boundaries.

Values travel as JSON. Plain JSON carries None, bool, int, finite float, str and list;
everything else is a JSON object with exactly one key, its tag:

- ``{"float": "nan" | "inf" | "-inf"}``: non-finite floats, which JSON cannot spell;
- ``{"tuple": [...]}`` and ``{"dict": {...}}``: kept apart from lists and from tags;
- ``{"ndarray": {"dtype", "shape", "data"}}``: a numeric array, little-endian bytes in
  base64;
- ``{"scalar": {"dtype", "data"}}``: a numpy scalar, kept apart from Python floats and
  from 0-d arrays because the grader tells "returned a float" from "returned an array";
- ``{"unsupported": {"type", "text"}}``: an :class:`Unsupported` stand-in.

Decoding never evaluates or unpickles anything: it validates every tag, dtype, shape,
size and nesting level, and raises :class:`DecodeError` on the first violation.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.errors import DecodeError, TooLarge

MAX_DEPTH = 32
"""Containers nested deeper than this are encoded as Unsupported."""

_TEXT_LIMIT = 200
_MAX_DIMENSIONS = 32
_MAX_INT_BITS = 4096  # well below the digit limit that json and int() enforce
_NUMERIC_KINDS = frozenset("biufc")
# The canonical dtype strings encode() produces: byte order, kind, item size.
_DTYPE_PATTERN = re.compile(r"[<|][biufc][0-9]{1,2}")
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_HEADER_BYTES = 8
# Byte orders already little-endian ("|": single bytes); "=" is native, little on most machines.
_LITTLE_ORDERS = frozenset("<|=" if sys.byteorder == "little" else "<|")
_DTYPES: dict[str, np.dtype] = {}  # canonical dtype strings already validated by the decoder


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Stands in for a value the codec cannot carry (a generator, an object array, ...)."""

    type_name: str  # name of the value's type, e.g. "generator"
    text: str  # its repr, at most 200 characters


def type_name(value: object) -> str:
    """Return the name of the value's type, even when its metaclass is hostile."""
    try:
        name = type(value).__name__
    except BaseException:  # a metaclass property may raise anything, even SystemExit
        return "?"
    return str.__str__(name)[:_TEXT_LIMIT] if isinstance(name, str) else "?"


def bounded_text(render: Callable[[object], str], value: object, limit: int) -> str:
    """Return ``render(value)`` cut to ``limit`` characters, or a placeholder if it fails.

    The value may belong to student code, so its ``__repr__``/``__str__`` may raise
    anything (even SystemExit) or return a str subclass with overridden methods.
    """
    try:
        text = render(value)
        # str.__str__ turns a str subclass into a plain str without calling its methods.
        return str.__str__(text)[:limit] if isinstance(text, str) else "<unprintable>"
    except BaseException:
        return "<unprintable>"


def unsupported(value: object) -> Unsupported:
    """Return the Unsupported stand-in for a value."""
    return Unsupported(type_name(value), bounded_text(repr, value, _TEXT_LIMIT))


def encode(value: Any, *, max_bytes: int | None = None) -> bytes:
    """Encode a value as ASCII JSON, replacing what cannot be carried by Unsupported.

    Never raises for an unusual value; only running out of memory can stop it.

    Args:
        value: What to encode.
        max_bytes: When given, raise TooLarge as soon as the encoding is sure to be
            longer, before spending time and memory on it (a huge array takes seconds).
    """
    budget = [math.inf if max_bytes is None else max_bytes]
    return json.dumps(
        _to_tree(value, 0, budget), ensure_ascii=True, allow_nan=False, separators=(",", ":")
    ).encode("ascii")


def _spend(budget: list[float], size: int) -> None:
    """Take `size` bytes from the remaining budget; raise TooLarge when it runs out."""
    budget[0] -= size
    if budget[0] < 0:
        raise TooLarge("the encoded value would be larger than allowed")


def _to_tree(value: Any, depth: int, budget: list[float]) -> Any:
    """Return the JSON-ready tree for a value at the given nesting depth."""
    kind = type(value)
    _spend(budget, 8)  # at least a separator and a short scalar per node
    # issubclass on the real type: isinstance would believe a forged __class__. Arrays come first:
    # they are most of what travels.
    if kind is np.ndarray or issubclass(kind, (np.ndarray, np.generic)):
        # base64 makes 4 characters of every 3 bytes.
        array = value if kind is np.ndarray else np.asarray(value).view(np.ndarray)
        _spend(budget, 4 * (array.nbytes + 2) // 3)
        return _array_tree(value)
    # Exact type checks: a subclass of int or dict could override what we would call.
    if value is None or kind is bool:
        return value
    if kind is str:
        _spend(budget, len(value))
        return value
    if kind is int and value.bit_length() <= _MAX_INT_BITS:
        _spend(budget, value.bit_length() // 3)
        return value
    if kind is float:
        _spend(budget, 16)
        return value if math.isfinite(value) else {"float": repr(value)}
    if kind is Unsupported and type(value.type_name) is str and type(value.text) is str:
        return _unsupported_tree(value)
    if kind in (list, tuple, dict) and depth >= MAX_DEPTH:
        return _unsupported_tree(unsupported(value))
    if kind is list:
        return [_to_tree(item, depth + 1, budget) for item in value]
    if kind is tuple:
        return {"tuple": [_to_tree(item, depth + 1, budget) for item in value]}
    if kind is dict and all(type(key) is str for key in value):
        _spend(budget, sum(len(key) for key in value))
        return {"dict": {key: _to_tree(item, depth + 1, budget) for key, item in value.items()}}
    return _unsupported_tree(unsupported(value))


def _array_tree(value: np.ndarray | np.generic) -> Any:
    """Return the tree for a numpy array or scalar of a numeric dtype."""
    # A plain-ndarray view: subclasses (np.matrix, masked arrays, ...) travel as their
    # data, without calling any method they override.
    array = value if type(value) is np.ndarray else np.asarray(value).view(np.ndarray)
    dtype = array.dtype
    if dtype.kind not in _NUMERIC_KINDS:
        return _unsupported_tree(unsupported(value))
    little = array if dtype.byteorder in _LITTLE_ORDERS else array.astype(dtype.newbyteorder("<"))
    body = {"dtype": little.dtype.str, "data": base64.b64encode(little.tobytes()).decode()}
    if issubclass(type(value), np.generic):
        return {"scalar": body}
    return {"ndarray": {**body, "shape": list(little.shape)}}


def _unsupported_tree(record: Unsupported) -> Any:
    """Return the tree of an Unsupported record, its texts cut to the decoder's limit."""
    return {
        "unsupported": {"type": record.type_name[:_TEXT_LIMIT], "text": record.text[:_TEXT_LIMIT]}
    }


def decode(data: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Decode what :func:`encode` produced, validating everything.

    Args:
        data: The encoded message.
        max_bytes: Longest message accepted.
        max_depth: Deepest nesting of lists, tuples and dicts accepted.

    Returns:
        Plain Python values, numpy scalars, fresh writable arrays and Unsupported records.

    Raises:
        DecodeError: The message is too long, too deep or not exactly this format.
    """
    if len(data) > max_bytes:
        raise DecodeError(f"message of {len(data)} bytes is over the limit of {max_bytes}")
    try:
        tree = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError("message is nested too deeply") from None
    except ValueError as error:
        raise DecodeError(f"message is not valid JSON: {error}") from None
    return _from_tree(tree, 0, max_depth)


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, rejecting repeated keys that json would silently collapse."""
    result = dict(pairs)
    if len(result) != len(pairs):
        raise DecodeError("JSON object has a repeated key")
    return result


def _reject_constant(name: str) -> float:
    """Reject the NaN/Infinity literals that json accepts but JSON does not have."""
    raise DecodeError(f"bare {name} is not allowed; non-finite floats are tagged")


def _finite_float(text: str) -> float:
    """Parse a JSON number, rejecting ones like 1e999 that overflow to infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise DecodeError(f"number {text[:40]} is not a finite float")
    return value


def _from_tree(node: Any, depth: int, max_depth: int) -> Any:
    """Return the value a validated JSON tree stands for."""
    if depth > max_depth:
        raise DecodeError(f"value is nested deeper than {max_depth} levels")
    if node is None or type(node) in (bool, int, float, str):
        return node
    if type(node) is list:
        return [_from_tree(item, depth + 1, max_depth) for item in node]
    if len(node) != 1:
        raise DecodeError(f"tagged value has {len(node)} keys instead of one")
    ((tag, body),) = node.items()
    if tag == "float" and isinstance(body, str) and body in _NON_FINITE:
        return _NON_FINITE[body]
    if tag == "tuple" and type(body) is list:
        return tuple(_from_tree(item, depth + 1, max_depth) for item in body)
    if tag == "dict" and type(body) is dict:
        return {key: _from_tree(item, depth + 1, max_depth) for key, item in body.items()}
    if tag == "ndarray":
        return _array_from(_fields(body, "ndarray", ("dtype", "shape", "data")))
    if tag == "scalar":
        return _array_from(_fields(body, "scalar", ("dtype", "data")))[()]
    if tag == "unsupported":
        fields = _fields(body, "unsupported", ("type", "text"))
        if not all(type(text) is str and len(text) <= _TEXT_LIMIT for text in fields.values()):
            raise DecodeError("unsupported value needs short strings for type and text")
        return Unsupported(fields["type"], fields["text"])
    raise DecodeError(f"unknown or malformed tag {str(tag)[:40]!r}")


def _fields(body: Any, tag: str, names: tuple[str, ...]) -> dict[str, Any]:
    """Return a tag's body after checking it is an object with exactly these keys."""
    if type(body) is not dict or set(body) != set(names):
        raise DecodeError(f"{tag} needs exactly the keys {', '.join(names)}")
    return body


def _checked_dtype(dtype_text: Any) -> np.dtype:
    """Return the numeric dtype a canonical dtype string names."""
    if type(dtype_text) is not str or not _DTYPE_PATTERN.fullmatch(dtype_text):
        raise DecodeError(f"dtype {str(dtype_text)[:40]!r} is not a numeric dtype")
    try:
        dtype = np.dtype(dtype_text)
    except TypeError:
        raise DecodeError(f"dtype {dtype_text!r} does not exist") from None
    # Only the canonical spelling is accepted, so each dtype has exactly one encoding.
    if dtype.str != dtype_text:
        raise DecodeError(f"dtype {dtype_text!r} is not in canonical form {dtype.str!r}")
    return dtype


def _array_from(fields: dict[str, Any]) -> np.ndarray:
    """Return a fresh native-order array from validated dtype, shape and data fields."""
    dtype_text, data = fields["dtype"], fields["data"]
    dtype = _DTYPES.get(dtype_text) if type(dtype_text) is str else None
    if dtype is None:
        dtype = _DTYPES[dtype_text] = _checked_dtype(dtype_text)
    shape = fields.get("shape", [])
    if (
        type(shape) is not list
        or len(shape) > _MAX_DIMENSIONS
        or not all(type(size) is int and size >= 0 for size in shape)
    ):
        raise DecodeError("shape must be a short list of non-negative integers")
    if type(data) is not str:
        raise DecodeError("array data must be a base64 string")
    try:
        payload = base64.b64decode(data, validate=True)
    except ValueError:
        raise DecodeError("array data is not valid base64") from None
    if len(payload) != math.prod(shape) * dtype.itemsize:
        raise DecodeError(
            f"array data has {len(payload)} bytes; shape {shape} of {dtype_text} needs "
            f"{math.prod(shape) * dtype.itemsize}"
        )
    try:
        # astype copies, so the result is writable and owns its memory.
        flat = np.frombuffer(payload, dtype=dtype).astype(dtype.newbyteorder("="))
        return flat.reshape(shape)
    except (ValueError, OverflowError) as error:
        raise DecodeError(f"array of shape {shape} cannot be built: {error}") from None


def write_frame(fd: int, payload: bytes) -> None:
    """Write one frame: an 8-byte big-endian length, then the payload.

    Loops over partial writes; os.write already retries on EINTR (PEP 475).
    """
    view = memoryview(len(payload).to_bytes(_HEADER_BYTES, "big") + payload)
    while view:
        view = view[os.write(fd, view) :]


def read_frame(fd: int, max_bytes: int) -> bytes | None:
    """Read one frame written by :func:`write_frame`.

    Returns:
        The payload, or None when the stream ended cleanly before a new frame.

    Raises:
        DecodeError: The frame is longer than ``max_bytes`` or the stream ends inside it.
    """
    header = _read_up_to(fd, _HEADER_BYTES)
    if not header:
        return None
    if len(header) < _HEADER_BYTES:
        raise DecodeError("stream ended inside a frame header")
    size = int.from_bytes(header, "big")
    if size > max_bytes:
        raise DecodeError(f"frame of {size} bytes is over the limit of {max_bytes}")
    payload = _read_up_to(fd, size)
    if len(payload) < size:
        raise DecodeError(f"stream ended after {len(payload)} of {size} frame bytes")
    return payload


def _read_up_to(fd: int, size: int) -> bytes:
    """Read until ``size`` bytes or end of stream, looping over partial reads."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = os.readv(fd, [view[received:]])
        if count == 0:
            break
        received += count
    return bytes(view[:received])


def same_value(before: Any, after: Any) -> bool:
    """Exact equality of wire values, arrays included (how in-place mutation of arguments is detected)."""
    if isinstance(before, np.ndarray) or isinstance(after, np.ndarray):
        return (
            isinstance(before, np.ndarray) and isinstance(after, np.ndarray)
            and before.shape == after.shape and before.dtype == after.dtype
            and bool(np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"))
        )
    if isinstance(before, dict) and isinstance(after, dict):
        return before.keys() == after.keys() and all(same_value(before[k], after[k]) for k in before)
    if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
        return type(before) is type(after) and len(before) == len(after) and all(
            same_value(x, y) for x, y in zip(before, after)
        )
    return type(before) is type(after) and (before == after or before != before and after != after)
