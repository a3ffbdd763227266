"""The `--out` folder: submission ids, file names, the run's manifest and atomic writes.

Layout of an output folder (every file is written whole or not at all):

    manifest.json            what the run graded: assignment, options, shard, submissions in order
    <id>.json                the result (DESIGN.md §3.2) plus a `grading` key saying what produced it
    <id>.md, <id>.txt, ...   per-submission feedback in each requested format
    grades.csv, summary.md, summary.html, junit.xml, results.json    the batch files

An id is the submission's path relative to the folder that holds all the inputs, without its
suffix (`alice/Homework2`); ids are computed from the whole input list, before sharding,
so every shard names a submission the same way.
"""
from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import ResultFileError, UsageError
from grader.feedback import suffixes
from grader.feedback.audience import DEFAULT_LEVEL, FEEDBACK_LEVELS
from grader.feedback.result_json import SCHEMA as RESULT_SCHEMA
from grader.feedback.result_json import json_fields, to_json
from grader.records import SubmissionResult

MANIFEST_SCHEMA = "grader.batch/1"
MANIFEST_FILE = "manifest.json"
BATCH_FILES = ("grades.csv", "summary.md", "summary.html", "junit.xml", "results.json", MANIFEST_FILE)
SUFFIXES = suffixes()
"""Format name → the suffix of each submission's file in that format (from grader.feedback's registry)."""
"""Per-submission file suffix of each format; `json` and `markdown` are always written with --out."""
_TEMPORARY = re.compile(r"^\..+\.grade-\d+\.tmp$")


@dataclass(frozen=True, slots=True)
class ExerciseInfo:
    """One graded function of the assignment, as the batch files name it."""

    function: str
    title: str
    max_score: float


@dataclass(frozen=True, slots=True)
class AssignmentInfo:
    """What a batch needs to know of the assignment (reported by a grading process once it has loaded it)."""

    name: str
    title: str
    fingerprint: str
    """Hash of every file of the assignment: results graded against another spec are not reused."""
    exercises: tuple[ExerciseInfo, ...]

    @property
    def max_score(self) -> float:
        return round(sum(exercise.max_score for exercise in self.exercises), 6)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "fingerprint": self.fingerprint,
                "exercises": [{"function": e.function, "title": e.title, "max_score": e.max_score}
                              for e in self.exercises]}

    @classmethod
    def from_json(cls, value: Any) -> AssignmentInfo:
        """Raises ResultFileError when `value` is not what `to_json` writes."""
        fields = json_fields(value, "assignment", {"name": str, "title": str, "fingerprint": str, "exercises": list})
        exercises = []
        for index, item in enumerate(fields["exercises"]):
            exercise = json_fields(item, f"assignment.exercises[{index}]",
                                   {"function": str, "title": str, "max_score": (int, float)})
            exercises.append(ExerciseInfo(exercise["function"], exercise["title"], float(exercise["max_score"])))
        return cls(fields["name"], fields["title"], fields["fingerprint"], tuple(exercises))


@dataclass(frozen=True, slots=True)
class Entry:
    """One submission of a batch."""

    index: int
    """Position in the whole input list (all shards), which fixes the order of every batch file."""
    id: str
    """Unique name of the submission in the output folder (see the module docstring)."""
    path: str
    """The path as found on the command line (or in the folder given there)."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What one run (or one shard of a run) graded, written first so a resumed run and `merge` can check it."""

    grader_version: str
    assignment: AssignmentInfo
    timeout_seconds: float
    formats: tuple[str, ...]
    """The --format names asked for (per-submission and batch formats), sorted."""
    shard: tuple[int, int]
    """(K, N): this run graded the entries whose index is K-1 modulo N; (1, 1) for a whole run."""
    total: int
    """Number of submissions in the whole input list, over all shards."""
    entries: tuple[Entry, ...]
    feedback: str = DEFAULT_LEVEL
    """The --feedback level of the feedback files (manifests written before it existed: "full")."""

    def to_text(self) -> str:
        document = {
            "schema": MANIFEST_SCHEMA, "grader_version": self.grader_version, "assignment": self.assignment.to_json(),
            "timeout_seconds": self.timeout_seconds, "formats": list(self.formats), "feedback": self.feedback,
            "shard": {"index": self.shard[0], "count": self.shard[1]}, "total": self.total,
            "submissions": [{"index": e.index, "id": e.id, "path": e.path} for e in self.entries],
        }
        return json.dumps(document, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """Read `folder/manifest.json`. Raises OSError or ResultFileError (with the file named) when it is unusable."""
        path = folder / MANIFEST_FILE
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            fields = json_fields(document, "manifest", {
                "schema": str, "grader_version": str, "assignment": dict, "timeout_seconds": (int, float),
                "formats": list, "shard": dict, "total": int, "submissions": list})
            if fields["schema"] != MANIFEST_SCHEMA:
                raise ResultFileError(f"schema is {fields['schema']!r}, not {MANIFEST_SCHEMA!r}")
            shard = json_fields(fields["shard"], "shard", {"index": int, "count": int})
            entries = tuple(Entry(**json_fields(item, f"submissions[{index}]",
                                                {"index": int, "id": str, "path": str}))
                            for index, item in enumerate(fields["submissions"]))
            if not all(type(name) is str for name in fields["formats"]):
                raise ResultFileError("formats: expected a list of strings")
            feedback = document.get("feedback", DEFAULT_LEVEL)
            if feedback not in FEEDBACK_LEVELS:
                raise ResultFileError(f"feedback: expected one of {', '.join(FEEDBACK_LEVELS)}")
            return cls(fields["grader_version"], AssignmentInfo.from_json(fields["assignment"]),
                       float(fields["timeout_seconds"]), tuple(fields["formats"]), (shard["index"], shard["count"]),
                       fields["total"], entries, feedback)
        except (ValueError, TypeError, ResultFileError) as error:  # JSON that does not parse is a ValueError
            raise ResultFileError(f"{path}: {error}") from None


def submission_ids(paths: Sequence[str], per_submission_suffixes: Iterable[str] = SUFFIXES.values()) -> list[str]:
    """A unique, readable id for each path (see the module docstring), stable for a given input list.

    Two inputs that would write the same file (`a.ipynb` and `a.py`; a notebook named `summary`) are told
    apart by keeping the suffix, then by `~2`, `~3`... in input order.
    """
    if not paths:
        return []
    absolute = [os.path.abspath(path) for path in paths]
    base = os.path.commonpath([os.path.dirname(path) for path in absolute])
    suffixes = tuple(per_submission_suffixes)
    taken = set(BATCH_FILES)
    ids = []
    for path in absolute:
        relative = Path(os.path.relpath(path, base)).as_posix()
        suffix = Path(relative).suffix if Path(relative).suffix in (".ipynb", ".py") else ""
        stem = relative[: len(relative) - len(suffix)]
        numbered = (f"{stem}~{number}" for number in itertools.count(2))
        for candidate in itertools.chain([stem, relative] if suffix else [stem], numbered):
            names = {candidate + ending for ending in suffixes}
            if candidate and not names & taken:
                taken |= names
                ids.append(candidate)
                break
    return ids


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' → (K, N) with 1 ≤ K ≤ N. Raises UsageError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UsageError(f"--shard must be K/N with 1 ≤ K ≤ N (e.g. 2/4), not {text!r}")
    return int(match[1]), int(match[2])


def select_shard(entries: Sequence[Entry], shard: tuple[int, int]) -> tuple[Entry, ...]:
    """The entries shard K of N grades: every N-th of the input list, starting at the K-th (balanced, deterministic)."""
    number, count = shard
    return tuple(entry for entry in entries if entry.index % count == number - 1)


def check_shard_set(folders: Sequence[Path], shards: Sequence[tuple[int, int]]) -> None:
    """Refuse a set of `grade merge` folders that is not each shard of one split once (`shards[i]` is folder i's).

    Raises:
        UsageError: A folder given twice, a shard given twice, or shards of different splits (a whole run among
            shards): their union could still cover every submission, but would double some.
    """
    seen: dict[tuple[int, int], Path] = {}
    for folder, shard in zip(folders, shards):
        if shard in seen:
            other = seen[shard]
            if os.path.realpath(other) == os.path.realpath(folder):
                raise UsageError(f"{folder} is given twice: give each shard's folder once")
            what = "whole runs" if shard == (1, 1) else f"shard {shard[0]}/{shard[1]}"
            raise UsageError(f"{other} and {folder} are both {what}: give each shard's folder once")
        seen[shard] = folder
    splits = sorted({count for _, count in seen})
    if len(splits) > 1:
        whole = [str(folder) for (_, count), folder in seen.items() if count == 1]
        what = (f"{whole[0]} is a whole run (not a --shard run)" if whole
                else f"the folders are shards of different splits (into {' and '.join(map(str, splits))})")
        raise UsageError(f"{what}: merge the folders of every shard of one --shard K/N run, and nothing else")


def grading_key(assignment: AssignmentInfo, timeout_seconds: float, feedback: str = DEFAULT_LEVEL,
                strict_rng: bool = False) -> dict[str, Any]:
    """What, besides the submission's bytes and the grader version, decides a result and the feedback files next to
    it (written at one --feedback level): checked by --resume."""
    key: dict[str, Any] = {"assignment_fingerprint": assignment.fingerprint, "timeout_seconds": timeout_seconds,
                           "feedback": feedback}
    if strict_rng:  # only when asked: results of ordinary runs stay as they were
        key["strict_rng"] = True
    return key


def result_file_text(result: SubmissionResult, grader_version: str, key: Mapping[str, Any]) -> str:
    """The `<id>.json` file: the result's JSON contract on one line, plus the `grading` key."""
    document = to_json(result, grader_version)
    document["grading"] = dict(key)
    return json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n"


def submission_file(folder: Path, submission_id: str, format_name: str) -> Path:
    return folder / (submission_id + SUFFIXES[format_name])


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `path` so that a reader (or a run killed at any moment) sees the old file or the new one, never half."""
    temporary = path.with_name(f".{path.name}.grade-{os.getpid()}.tmp")
    try:
        file = open(temporary, "wb")
    except FileNotFoundError:  # the first file of its folder
        path.parent.mkdir(parents=True, exist_ok=True)
        file = open(temporary, "wb")
    with file:
        file.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(temporary, path)


def stale_results(folder: Path, ids: Collection[str]) -> list[str]:
    """Ids, sorted, of the result files in `folder` of submissions not among `ids` (a folder reused for another input).

    Only files the grader wrote count: `<id>.json` holding a `grader.result/1` result with its `grading` key.
    """
    stale = []
    for directory, _, names in os.walk(folder):
        for name in names:
            if not name.endswith(".json") or name.startswith("."):
                continue
            path = Path(directory, name)
            submission_id = path.relative_to(folder).as_posix()[: -len(".json")]
            if submission_id not in ids and submission_id + ".json" not in BATCH_FILES and _is_result_file(path):
                stale.append(submission_id)
    return sorted(stale)


def remove_results(folder: Path, ids: Iterable[str]) -> None:
    """Delete each submission's files (result last, so an interrupted removal is found again), and empty folders."""
    for submission_id in ids:
        for format_name in sorted(SUFFIXES, key=lambda name: name == "json"):
            submission_file(folder, submission_id, format_name).unlink(missing_ok=True)
        parent = submission_file(folder, submission_id, "json").parent
        while parent != folder and folder in parent.parents and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def _is_result_file(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            document = json.loads(file.read())
    except (OSError, ValueError):
        return False
    return type(document) is dict and document.get("schema") == RESULT_SCHEMA and "grading" in document


def remove_stale_temporaries(folder: Path) -> None:
    """Delete what a killed run left half-written (only files named by `write_atomic`)."""
    if not folder.is_dir():
        return
    for directory, _, names in os.walk(folder):
        for name in names:
            if _TEMPORARY.match(name):
                try:
                    os.unlink(os.path.join(directory, name))
                except FileNotFoundError:
                    pass
