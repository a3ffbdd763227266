"""The wire between the sandbox's processes: what each message holds, and the checks it passes on arrival.

Messages are plain dicts and lists that the codec carries, in length-prefixed frames: the
grader sends the worker its jobs; the worker answers first with its layers (or why it could
not start), then, per job, with a report (`ChildReport`) and the child's own messages, one
per finished call or one failure, passed through unread. On arrival every field is checked
against a schema of predicates, and any malformation raises DecodeError. Nothing is
unpickled.

A child's exit status is part of the wire too: REPORTING_FAILED and SETUP_FAILED say why it
ended without its messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from grader.errors import DecodeError
from grader.records import CallOutcome, Job, Layer, RaisedError, RunFailure
from grader.sandbox.layers import LAYERS

SCHEMA = "grader.sandbox/1"
OUTPUT_CHARS = 2000
TYPE_NAME_CHARS = 200
MESSAGE_CHARS = 500
TRACEBACK_LINES = 100
REPLY_SLACK_BYTES = 1 << 20  # room for the outcome's own fields around the results
JOB_MAX_BYTES = 1 << 31
FRAME_HEADER_BYTES = 8  # the codec's length prefix
REPORTING_FAILED = 70  # exit status of a child whose own reporting code failed
SETUP_FAILED = 71  # exit status of a child that could not apply its layers
FAILURE_KINDS = frozenset(
    {"load-error", "function-missing", "timeout", "memory-limit", "output-limit", "crashed", "bad-result"}
)


@dataclass(frozen=True, slots=True)
class ChildReport:
    """What the worker saw of one child; the child's own messages travel beside it, unparsed."""

    stop: str  # why the worker stopped reading: "done", "timeout" or "too-large"
    death: RunFailure | None  # how the child ended when it did not exit cleanly (call_index unset)
    output_overflow: bool  # printed more than the limit (perhaps catching the error and going on)
    output: str  # the start of what the student printed
    seconds: float  # wall time of the child


def frames(data: bytes) -> Iterator[bytes]:
    """Yield the complete frames in `data`; a frame cut short by the child's death is dropped."""
    offset = 0
    while offset + FRAME_HEADER_BYTES <= len(data):
        start = offset + FRAME_HEADER_BYTES
        end = start + int.from_bytes(data[offset:start], "big")
        if end > len(data):
            return
        yield data[start:end]
        offset = end


_Schema = dict[str, Callable[[Any], bool]]


def _text(limit: int) -> Callable[[Any], bool]:
    return lambda value: type(value) is str and len(value) <= limit


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _of_type(kind: type) -> Callable[[Any], bool]:
    return lambda value: type(value) is kind


def _is_line(value: Any) -> bool:
    return type(value) is int and value > 0


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _anything(value: Any) -> bool:
    return True


_JOB: _Schema = {
    "source": _of_type(str),
    "filename": _of_type(str),
    "function": _of_type(str),
    "calls": lambda value: value is None or type(value) is list and all(type(arguments) is tuple
                                                                        for arguments in value),
    "served_modules": lambda value: type(value) is dict and all(type(source) is str for source in value.values()),
    "calls_key": lambda value: value is None or type(value) is str,
    "bindings": lambda value: type(value) is list and all(
        type(names) is dict and all(type(name) is str and type(target) is str and "." in target
                                    for name, target in names.items()) for names in value),
}
_ERROR: _Schema = {
    "type_name": _text(TYPE_NAME_CHARS),
    "message": _text(MESSAGE_CHARS),
    "line": _optional(_is_line),
    "lines": lambda value: type(value) is list and len(value) <= TRACEBACK_LINES and all(map(_is_line, value)),
}
_CALL: _Schema = {"returned": _anything, "arguments_after": _of_type(tuple), "error": _anything}
_FAILURE: _Schema = {
    "kind": lambda value: type(value) is str and value in FAILURE_KINDS,
    "message": _text(MESSAGE_CHARS),
    "error": _anything,
    "call_index": _optional(_is_count),
}
_REPORT: _Schema = {
    "schema": lambda value: type(value) is str and value == SCHEMA,
    "stop": lambda value: value in ("done", "timeout", "too-large"),
    "death": _anything,
    "output_overflow": _of_type(bool),
    "output": _text(OUTPUT_CHARS),
    "seconds": lambda value: type(value) is float and value >= 0,
}
_LAYER: _Schema = {
    "name": lambda value: type(value) is str and value in LAYERS,
    "in_force": _of_type(bool),
    "detail": _text(MESSAGE_CHARS),
}


def _checked(value: Any, record: str, schema: _Schema) -> dict[str, Any]:
    """Return `value` after checking it is a dict with exactly the schema's valid fields."""
    if type(value) is not dict or value.keys() != schema.keys():
        raise DecodeError(f"malformed {record}: expected the fields {', '.join(schema)}")
    invalid = [name for name, check in schema.items() if not check(value[name])]
    if invalid:
        raise DecodeError(f"malformed {record}: invalid {', '.join(invalid)}")
    return value


def job_to_wire(job: Job, send_calls: bool = True) -> dict[str, Any]:
    return {
        "source": job.source,
        "filename": job.filename,
        "function": job.function,
        "calls": list(job.calls) if send_calls else None,
        "served_modules": dict(job.served_modules),
        "calls_key": job.calls_key,
        "bindings": [dict(names) for names in job.bindings],
    }


def job_from_wire(value: Any, known_calls: dict[str, tuple[tuple[Any, ...], ...]]) -> Job:
    """Rebuild a job; calls sent under a key are remembered, and a job naming only the key gets them back."""
    fields = _checked(value, "job", _JOB)
    key = fields["calls_key"]
    if fields["calls"] is not None:
        calls = tuple(fields["calls"])
        if key is not None:
            known_calls[key] = calls
    elif key in known_calls:
        calls = known_calls[key]
    else:
        raise DecodeError("a job names calls this worker was never sent")
    bindings = tuple(fields["bindings"])
    if bindings and len(bindings) != len(calls):
        raise DecodeError("a job's bindings are not one per call")
    return Job(fields["source"], fields["filename"], fields["function"], calls, fields["served_modules"], key,
               bindings)


def jobs_from_wire(value: Any, known_calls: dict[str, tuple[tuple[Any, ...], ...]]) -> tuple[Job, ...]:
    if type(value) is not dict or value.keys() != {"jobs"} or type(value["jobs"]) is not list or not value["jobs"]:
        raise DecodeError("malformed request: expected a non-empty list of jobs")
    return tuple(job_from_wire(job, known_calls) for job in value["jobs"])


def error_to_wire(error: RaisedError | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"type_name": error.type_name, "message": error.message, "line": error.line, "lines": list(error.lines)}


def error_from_wire(value: Any) -> RaisedError | None:
    if value is None:
        return None
    fields = _checked(value, "error", _ERROR)
    return RaisedError(fields["type_name"], fields["message"], fields["line"], tuple(fields["lines"]))


def call_to_wire(call: CallOutcome) -> dict[str, Any]:
    return {"returned": call.returned, "arguments_after": call.arguments_after,
            "error": error_to_wire(call.error)}


def call_from_wire(value: Any) -> CallOutcome:
    fields = _checked(value, "call", _CALL)
    return CallOutcome(fields["returned"], fields["arguments_after"], error_from_wire(fields["error"]))


def failure_to_wire(failure: RunFailure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {"kind": failure.kind, "message": failure.message, "error": error_to_wire(failure.error),
            "call_index": failure.call_index}


def failure_from_wire(value: Any) -> RunFailure | None:
    if value is None:
        return None
    fields = _checked(value, "failure", _FAILURE)
    return RunFailure(fields["kind"], fields["message"], error_from_wire(fields["error"]), fields["call_index"])


def report_to_wire(report: ChildReport) -> dict[str, Any]:
    return {"schema": SCHEMA, "stop": report.stop, "death": failure_to_wire(report.death),
            "output_overflow": report.output_overflow, "output": report.output, "seconds": report.seconds}


def report_from_wire(value: Any) -> ChildReport:
    fields = _checked(value, "report", _REPORT)
    return ChildReport(fields["stop"], failure_from_wire(fields["death"]), fields["output_overflow"],
                       fields["output"], fields["seconds"])


def layers_to_wire(layers: tuple[Layer, ...]) -> dict[str, Any]:
    return {"schema": SCHEMA, "layers": [{"name": layer.name, "in_force": layer.in_force,
                                          "detail": layer.detail[:MESSAGE_CHARS]} for layer in layers]}


def start_failure_to_wire(reason: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "failed": reason[:MESSAGE_CHARS]}


def start_report_from_wire(value: Any) -> tuple[tuple[Layer, ...], str | None]:
    """The worker's first message: its layers, or why it could not start (then no layers)."""
    if type(value) is dict and value.keys() == {"schema", "failed"} and value["schema"] == SCHEMA \
            and _text(MESSAGE_CHARS)(value["failed"]):
        return (), value["failed"]
    if type(value) is not dict or value.keys() != {"schema", "layers"} or value["schema"] != SCHEMA \
            or type(value["layers"]) is not list:
        raise DecodeError("malformed layer report")
    layers = []
    for item in value["layers"]:
        fields = _checked(item, "layer", _LAYER)
        layers.append(Layer(fields["name"], fields["in_force"], fields["detail"]))
    return tuple(layers), None
