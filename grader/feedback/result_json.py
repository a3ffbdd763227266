"""The result as JSON (DESIGN.md §3.2, `grader.result/1`): written for every submission, read back strictly.

Field names are a contract: fields are added, never renamed. Reading (`from_json`) checks
every field the contract names and ignores fields added later, so results written by older
versions still load.
"""
from __future__ import annotations

import json
import math
from typing import Any

from grader.errors import ResultFileError
from grader.feedback.registry import renderer
from grader.records import CheckResult, Comparison, ExerciseResult, Finding, Location, SubmissionResult

SCHEMA = "grader.result/1"


@renderer("json", ".json", "the result as JSON (one object per submission, one per line)", for_students=False)
def render_json(result: SubmissionResult, version: str, colour: bool = False) -> str:
    """One JSON object on one line (so several results make JSON Lines)."""
    return json.dumps(to_json(result, version), ensure_ascii=False, allow_nan=False)


def to_json(result: SubmissionResult, grader_version: str) -> dict[str, Any]:
    """The result as the JSON contract's plain data."""
    return {
        "schema": SCHEMA,
        "grader_version": grader_version,
        "submission": {"path": result.path, "sha256": result.sha256},
        "assignment": {"name": result.assignment, "title": result.assignment_title},
        "score": result.score,
        "max_score": result.max_score,
        "status": result.status,
        "exercises": [_exercise_json(exercise) for exercise in result.exercises],
        "errors": [{"kind": kind, "message": message} for kind, message in result.errors],
        "sandbox": list(result.sandbox),
        "sandbox_user": result.sandbox_user,
    }


def _exercise_json(exercise: ExerciseResult) -> dict[str, Any]:
    return {
        "function": exercise.function,
        "title": exercise.title,
        "score": exercise.score,
        "max_score": exercise.max_score,
        "status": exercise.status,
        "checks": [
            {"name": check.name, "passed": check.passed, "score": check.score, "max_score": check.max_score,
             "message": check.message}
            for check in exercise.checks
        ],
        "findings": [
            {
                "id": finding.id,
                "title": finding.title,
                "outputs": list(finding.outputs),
                "location": _location_json(finding.location),
                "evidence": finding.evidence,
                "explanation": finding.explanation,
                "fix": finding.fix,
                "math": finding.math,
                "numeric": finding.numeric,
                "alternatives": list(finding.alternatives),
                "more_locations": [_location_json(location) for location in finding.locations],
                "comparisons": [_comparison_json(comparison) for comparison in finding.comparisons],
            }
            for finding in exercise.findings
        ],
        "notes": list(exercise.notes),
    }


def _comparison_json(comparison: Comparison) -> dict[str, Any]:
    """The arrays behind a finding's pictures; JSON has no NaN, so a non-finite entry is null."""

    def entries(values: tuple[float, ...] | None) -> list[float | None] | None:
        return None if values is None else [value if math.isfinite(value) else None for value in values]

    return {"output": comparison.output, "title": comparison.title, "call": comparison.call,
            "shape": list(comparison.shape), "whole_shape": list(comparison.whole_shape),
            "expected": entries(comparison.expected), "got": entries(comparison.got)}


def _location_json(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"cell": location.cell, "line": location.line, "code": location.code, "code_cell": location.code_cell,
            "execution_count": location.execution_count, "cell_first_line": location.cell_first_line}


def from_json(document: Any) -> SubmissionResult:
    """Rebuild a SubmissionResult from the JSON contract's plain data (the inverse of `to_json`).

    Strict: every field the contract names must be present with the right type; fields added
    later are ignored. Nothing is evaluated.

    Raises:
        ResultFileError: The data is not a `grader.result/1` result; the message names the field.
    """

    top = json_fields(document, "result", {"schema": str, "grader_version": str, "submission": dict, "assignment": dict,
                                       "score": (int, float), "max_score": (int, float), "status": str,
                                       "exercises": list, "errors": list})
    if top["schema"] != SCHEMA:
        raise ResultFileError(f"result: schema is {top['schema']!r}, not {SCHEMA!r}")
    submission = json_fields(top["submission"], "submission", {"path": str, "sha256": str})
    assignment = json_fields(top["assignment"], "assignment", {"name": str, "title": str})

    def location(value: Any, where: str) -> Location | None:
        if value is None:
            return None
        fields = json_fields(value, where, {"cell": int, "line": int, "code": str})
        # Added to the contract later: older results lack them.
        extra = optional(value, where, {"code_cell": (int, type(None)), "execution_count": (int, type(None)),
                                        "cell_first_line": str})
        return Location(fields["cell"], fields["line"], fields["code"], extra.get("code_cell"),
                        extra.get("execution_count"), extra.get("cell_first_line", ""))

    def optional(value: dict, where: str, types: dict[str, Any]) -> dict[str, Any]:
        present = {key: value[key] for key in types if key in value}
        return json_fields(present, where, {key: types[key] for key in present}) if present else {}

    def finding(value: Any, where: str) -> Finding:
        fields = json_fields(value, where, {"id": (str, type(None)), "title": str, "outputs": list, "location": object,
                                        "evidence": str, "explanation": str, "fix": str})
        # Added to the contract later: older results lack them.
        extra = optional(value, where, {"math": str, "numeric": bool, "alternatives": list, "more_locations": list,
                                        "comparisons": list})
        more = [location(item, f"{where}.more_locations[{index}]")
                for index, item in enumerate(extra.get("more_locations", []))]
        pictured = tuple(_comparison(item, f"{where}.comparisons[{index}]")
                         for index, item in enumerate(extra.get("comparisons", [])))
        return Finding(id=fields["id"], title=fields["title"], outputs=_strings(fields["outputs"], f"{where}.outputs"),
                       location=location(fields["location"], f"{where}.location"), evidence=fields["evidence"],
                       explanation=fields["explanation"], fix=fields["fix"], math=extra.get("math", ""),
                       numeric=extra.get("numeric", True),
                       alternatives=_strings(extra.get("alternatives", []), f"{where}.alternatives"),
                       locations=tuple(item for item in more if item is not None), comparisons=pictured)

    def check(value: Any, where: str) -> CheckResult:
        fields = json_fields(value, where, {"name": str, "passed": bool, "score": (int, float),
                                        "max_score": (int, float), "message": str})
        return CheckResult(fields["name"], fields["passed"], float(fields["score"]), float(fields["max_score"]),
                           fields["message"])

    def exercise(value: Any, where: str) -> ExerciseResult:
        fields = json_fields(value, where, {"function": str, "title": str, "score": (int, float),
                                        "max_score": (int, float), "status": str, "checks": list, "findings": list})
        notes = value.get("notes", [])
        if type(notes) is not list:
            raise ResultFileError(f"{where}.notes: expected a list")
        return ExerciseResult(
            fields["function"], fields["title"], float(fields["score"]), float(fields["max_score"]), fields["status"],
            tuple(check(item, f"{where}.checks[{index}]") for index, item in enumerate(fields["checks"])),
            tuple(finding(item, f"{where}.findings[{index}]") for index, item in enumerate(fields["findings"])),
            _strings(notes, f"{where}.notes"),
        )

    errors = []
    for index, item in enumerate(top["errors"]):
        fields = json_fields(item, f"errors[{index}]", {"kind": str, "message": str})
        errors.append((fields["kind"], fields["message"]))
    sandbox = document.get("sandbox", [])  # added to the contract later: older results lack it
    if type(sandbox) is not list:
        raise ResultFileError("result.sandbox: expected a list")
    sandbox_user = document.get("sandbox_user", "")  # added later still
    if type(sandbox_user) is not str:
        raise ResultFileError("result.sandbox_user: expected str")
    return SubmissionResult(
        submission["path"], submission["sha256"], assignment["name"], assignment["title"], float(top["score"]),
        float(top["max_score"]), top["status"],
        tuple(exercise(item, f"exercises[{index}]") for index, item in enumerate(top["exercises"])),
        tuple(errors), _strings(sandbox, "result.sandbox"), sandbox_user,
    )


def _comparison(value: Any, where: str) -> Comparison:
    fields = json_fields(value, where, {"output": str, "title": str, "call": str, "shape": list, "whole_shape": list,
                                        "expected": list, "got": list})
    shape = _integers(fields["shape"], f"{where}.shape")
    if len(shape) != 2:
        raise ResultFileError(f"{where}.shape: expected [rows, columns]")
    expected = _numbers(fields["expected"], f"{where}.expected", shape[0] * shape[1])
    got = _numbers(fields["got"], f"{where}.got", shape[0] * shape[1])
    return Comparison(fields["output"], fields["title"], fields["call"], (shape[0], shape[1]),
                      _integers(fields["whole_shape"], f"{where}.whole_shape"), expected, got,
                      tuple(mine - theirs for mine, theirs in zip(got, expected)))


def _integers(values: list, where: str) -> tuple[int, ...]:
    if not all(type(value) is int and value >= 0 for value in values):
        raise ResultFileError(f"{where}: expected a list of sizes")
    return tuple(values)


def _numbers(values: list, where: str, count: int) -> tuple[float, ...]:
    """Numbers, null standing for a non-finite one; exactly `count` of them."""
    if len(values) != count or not all(value is None or type(value) in (int, float) for value in values):
        raise ResultFileError(f"{where}: expected {count} numbers (or null)")
    return tuple(float("nan") if value is None else float(value) for value in values)


def json_fields(value: Any, where: str, types: dict[str, Any]) -> dict[str, Any]:
    """The named fields of a JSON object, each checked against its type (bool is never a number)."""
    if type(value) is not dict:
        raise ResultFileError(f"{where}: expected an object")
    fields = {}
    for name, kind in types.items():
        if name not in value:
            raise ResultFileError(f"{where}: missing field {name!r}")
        field = value[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if kind is not object and type(field) not in kinds:  # exact types: a bool is not a number here
            raise ResultFileError(f"{where}.{name}: expected {' or '.join(k.__name__ for k in kinds)}, "
                             f"got {type(field).__name__}")
        fields[name] = field
    return fields


def _strings(values: list, where: str) -> tuple[str, ...]:
    if not all(type(value) is str for value in values):
        raise ResultFileError(f"{where}: expected a list of strings")
    return tuple(values)
