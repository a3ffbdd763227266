"""The wire codec: faithful round trips, Unsupported stand-ins, strict decoding, framing."""

from __future__ import annotations

import base64
import json
import math
import os
import threading

import numpy as np
import pytest

from grader.sandbox.codec import MAX_DEPTH, DecodeError, Unsupported, decode, encode, read_frame, write_frame

LIMIT = 1 << 24


def roundtrip(value: object) -> object:
    return decode(encode(value), max_bytes=LIMIT)


def array_message(dtype: str = "<f8", shape: object = (2,), data: bytes = bytes(16)) -> bytes:
    body = {"dtype": dtype, "shape": list(shape) if isinstance(shape, tuple) else shape,
            "data": base64.b64encode(data).decode()}
    return json.dumps({"ndarray": body}).encode()


def test_float_numpy_scalar_zero_d_array_and_one_by_one_array_stay_distinct():
    python_float, numpy_scalar, zero_d, one_by_one = roundtrip(
        [1.5, np.float64(1.5), np.array(1.5), np.array([[1.5]])]
    )
    assert type(python_float) is float and python_float == 1.5
    assert type(numpy_scalar) is np.float64 and numpy_scalar == 1.5
    assert type(zero_d) is np.ndarray and zero_d.shape == () and zero_d[()] == 1.5
    assert type(one_by_one) is np.ndarray and one_by_one.shape == (1, 1)


def test_plain_values_keep_their_types():
    assert roundtrip([None, True, 0, -(2**100), "héllo\n", ""]) == [None, True, 0, -(2**100), "héllo\n", ""]
    assert type(roundtrip(True)) is bool
    assert type(roundtrip(np.bool_(True))) is np.bool_


def test_non_finite_floats_roundtrip_in_python_floats_and_arrays():
    nan, inf, minus_inf, array = roundtrip([math.nan, math.inf, -math.inf, np.array([np.nan, np.inf, -np.inf])])
    assert math.isnan(nan) and inf == math.inf and minus_inf == -math.inf
    assert np.isnan(array[0]) and array[1] == np.inf and array[2] == -np.inf


def test_tuples_and_lists_stay_distinct():
    assert roundtrip(([1, (2,)], [(3, [4])])) == ([1, (2,)], [(3, [4])])
    assert type(roundtrip((1,))) is tuple and type(roundtrip([1])) is list


def test_nested_dicts_roundtrip():
    value = {"grads": {"dW1": np.ones((2, 3)), "db1": np.zeros((2, 1))}, "cost": 0.5, "": {"ndarray": 1}}
    decoded = roundtrip(value)
    assert decoded.keys() == value.keys() and decoded["grads"].keys() == value["grads"].keys()
    np.testing.assert_array_equal(decoded["grads"]["dW1"], value["grads"]["dW1"])
    assert decoded["cost"] == 0.5 and decoded[""] == {"ndarray": 1}


@pytest.mark.parametrize(
    "array",
    [
        np.array([True, False]),
        np.arange(-3, 3, dtype=np.int8),
        np.arange(6, dtype=np.uint16).reshape(2, 3),
        np.arange(6, dtype=">i4").reshape(3, 2),
        np.linspace(0, 1, 5, dtype=np.float16),
        np.linspace(0, 1, 6, dtype=np.float32).reshape(3, 2).T,
        np.array([1 + 2j, -3j], dtype=np.complex64),
        np.array([[1 + 2j]], dtype=np.complex128),
        np.zeros((0, 3)),
    ],
    ids=lambda array: f"{array.dtype.str}{array.shape}",
)
def test_arrays_keep_values_dtype_kind_and_shape_and_come_back_writable(array):
    decoded = roundtrip(array)
    assert type(decoded) is np.ndarray
    assert decoded.shape == array.shape
    assert decoded.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(decoded, array)
    assert decoded.flags.writeable and decoded.flags.c_contiguous
    decoded[...] = 0  # a fresh array, not a view of the message


def test_ndarray_subclasses_travel_as_their_data_without_calling_their_methods():
    class Hostile(np.ndarray):
        def __array__(self, *args: object, **kwargs: object) -> np.ndarray:
            raise RuntimeError("called")

        def tobytes(self, *args: object, **kwargs: object) -> bytes:
            raise RuntimeError("called")

        def astype(self, *args: object, **kwargs: object) -> np.ndarray:
            raise RuntimeError("called")

    decoded = roundtrip(np.array([[1.0, 2.0]]).view(Hostile))
    assert type(decoded) is np.ndarray
    np.testing.assert_array_equal(decoded, [[1.0, 2.0]])


class Custom:
    def __repr__(self) -> str:
        return "Custom()"


@pytest.mark.parametrize(
    "value, type_name",
    [
        ((n for n in range(3)), "generator"),
        (Custom(), "Custom"),
        (np.array([object()]), "ndarray"),
        (np.array(["text"]), "ndarray"),
        (np.datetime64("2024-01-01"), "datetime64"),
        ({1: 2}, "dict"),
        ({1, 2}, "set"),
        (len, "builtin_function_or_method"),
        (2**10_000, "int"),
    ],
    ids=lambda item: item if isinstance(item, str) else None,
)
def test_values_the_codec_cannot_carry_become_unsupported(value, type_name):
    decoded = roundtrip([value])[0]
    assert type(decoded) is Unsupported
    assert decoded.type_name == type_name
    assert len(decoded.text) <= 200


def test_hostile_repr_is_guarded():
    class Raises:
        def __repr__(self) -> str:
            raise SystemExit("no")

    class Huge:
        def __repr__(self) -> str:
            return "x" * 10_000

    class SneakyText(str):
        def __getitem__(self, index: object) -> str:
            raise RuntimeError("sliced")

    class Sneaky:
        def __repr__(self) -> str:
            return SneakyText("sneaky")

    raises, huge, sneaky = roundtrip([Raises(), Huge(), Sneaky()])
    assert raises == Unsupported("Raises", "<unprintable>")
    assert huge == Unsupported("Huge", "x" * 200)
    assert sneaky == Unsupported("Sneaky", "sneaky")


def test_nesting_deeper_than_the_cap_becomes_unsupported():
    value: list = []
    innermost = value
    for _ in range(MAX_DEPTH + 5):
        innermost.append([])
        innermost = innermost[0]
    decoded = roundtrip(value)
    for _ in range(MAX_DEPTH):
        decoded = decoded[0]
    assert type(decoded) is Unsupported and decoded.type_name == "list"


def test_self_referencing_list_is_cut_at_the_depth_cap():
    cycle: list = []
    cycle.append(cycle)
    decoded = roundtrip(cycle)
    for _ in range(MAX_DEPTH):
        decoded = decoded[0]
    assert decoded == Unsupported("list", "[[...]]")


def test_unsupported_records_roundtrip_as_themselves():
    assert roundtrip(Unsupported("generator", "<generator>")) == Unsupported("generator", "<generator>")


@pytest.mark.parametrize(
    "data",
    [
        b'{"pickle": "cos\\nsystem\\n"}',
        b'{"tuple": [1], "dict": {}}',
        b"{}",
        b'{"tuple": {"a": 1}}',
        b'{"dict": [1]}',
        b'{"float": "1.5"}',
        b"NaN",
        b"[Infinity]",
        b"1e999",
        b'{"dict": {"a": 1, "a": 2}}',
        b'{"unsupported": {"type": "x"}}',
        b'{"unsupported": {"type": "x", "text": 3}}',
        b'{"unsupported": {"type": "x", "text": "' + b"y" * 201 + b'"}}',
        b'{"scalar": {"dtype": "<f8", "data": "AAAA"}}',
        b'{"scalar": {"dtype": "<f8", "shape": [], "data": "AAAAAAAAAAA="}}',
        b"\xff\xfe",
        b"[1,",
        array_message(dtype="|O8"),
        array_message(dtype="<U1", data=bytes(8)),
        array_message(dtype="|V8"),
        array_message(dtype="<b1", data=bytes(2)),
        array_message(dtype="|f8"),
        array_message(dtype="<f3"),
        array_message(dtype="<M8"),
        array_message(dtype=8),
        array_message(shape=(3,)),
        array_message(shape=(-2,)),
        array_message(shape=[True, 2], data=bytes(16)),
        array_message(shape=[2.0]),
        array_message(shape="2"),
        array_message(shape=(0, 2**70), data=b""),
        json.dumps({"ndarray": {"dtype": "<f8", "shape": [1], "data": "not base64!"}}).encode(),
        json.dumps({"ndarray": {"dtype": "<f8", "shape": [1]}}).encode(),
    ],
)
def test_decode_rejects_anything_that_is_not_exactly_the_format(data):
    with pytest.raises(DecodeError) as raised:
        decode(data, max_bytes=LIMIT)
    assert "\n" not in str(raised.value)


def test_decode_rejects_messages_over_the_size_limit():
    data = encode(np.zeros(100))
    assert decode(data, max_bytes=len(data)).shape == (100,)
    with pytest.raises(DecodeError, match="over the limit"):
        decode(data, max_bytes=len(data) - 1)


def test_decode_rejects_nesting_deeper_than_max_depth():
    data = encode([[[[1]]]])  # the 1 is at depth 4
    assert decode(data, max_bytes=LIMIT, max_depth=4) == [[[[1]]]]
    with pytest.raises(DecodeError, match="deeper"):
        decode(data, max_bytes=LIMIT, max_depth=3)
    with pytest.raises(DecodeError):
        decode(b"[" * 100_000 + b"]" * 100_000, max_bytes=LIMIT)


def test_decode_errors_belong_to_the_grader_error_tree():
    from grader.errors import InternalError, TooLarge

    assert issubclass(DecodeError, InternalError) and issubclass(TooLarge, DecodeError)
    assert not issubclass(DecodeError, ValueError)  # a bare ValueError from a bug is never taken for bad data


@pytest.fixture
def pipe():
    read_fd, write_fd = os.pipe()
    yield read_fd, write_fd
    for fd in (read_fd, write_fd):
        try:
            os.close(fd)
        except OSError:
            pass


def test_frames_roundtrip_through_a_pipe_then_clean_end_of_stream_is_none(pipe):
    read_fd, write_fd = pipe
    write_frame(write_fd, b"first")
    write_frame(write_fd, b"")
    os.close(write_fd)
    assert read_frame(read_fd, 100) == b"first"
    assert read_frame(read_fd, 100) == b""
    assert read_frame(read_fd, 100) is None


def test_frames_larger_than_the_pipe_buffer_survive_partial_reads_and_writes(pipe):
    read_fd, write_fd = pipe
    payload = os.urandom(3 << 20)
    writer = threading.Thread(target=write_frame, args=(write_fd, payload))
    writer.start()
    assert read_frame(read_fd, len(payload)) == payload
    writer.join()


@pytest.mark.parametrize(
    "written",
    [b"\x00\x00\x00", (10).to_bytes(8, "big") + b"abc"],
    ids=["inside the header", "inside the payload"],
)
def test_read_frame_rejects_a_truncated_frame(pipe, written):
    read_fd, write_fd = pipe
    os.write(write_fd, written)
    os.close(write_fd)
    with pytest.raises(DecodeError, match="ended"):
        read_frame(read_fd, 100)


def test_read_frame_rejects_a_frame_over_the_limit_before_reading_it(pipe):
    read_fd, write_fd = pipe
    os.write(write_fd, (2**60).to_bytes(8, "big"))
    with pytest.raises(DecodeError, match="over the limit"):
        read_frame(read_fd, 1 << 20)


def test_encode_refuses_at_once_a_value_larger_than_the_allowed_size():
    import time

    from grader.sandbox.codec import TooLarge

    huge = np.zeros(50_000_000)  # 400 MB: encoding it would take seconds and gigabytes
    started = time.monotonic()
    with pytest.raises(TooLarge):
        encode({"grads": huge}, max_bytes=1 << 20)
    assert time.monotonic() - started < 0.1
    with pytest.raises(TooLarge):
        encode([1.5] * 100_000, max_bytes=1 << 16)
    small = {"cost": np.float64(0.5), "dW1": np.ones((3, 2)), "note": "ok"}
    assert len(encode(small, max_bytes=1 << 12)) <= 1 << 12
    assert encode(small, max_bytes=1 << 12) == encode(small)
