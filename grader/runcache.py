"""Reuse sandbox runs: the students of a class often submit the same code, comments and blank lines aside.

A run is reused only when running the code again could not differ: the same function, calls
and served modules; the same syntax tree laid out on the same lines once comments and blank
lines are dropped; and an outcome in which every call finished (a timeout or a crash may
depend on the machine's load, so those always run). Calls are seeded and every child starts
from the same state, so the values would be the same; only traceback line numbers differ, and
they are mapped onto the new submission's own lines. A reused outcome is shared, so its arrays
are made read-only: grading code that changed one would fail loudly instead of changing
another student's results.
"""
from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.extract.syntax import walk
from grader.records import Job, RaisedError, RunOutcome
from grader.repeats import RepeatCache

_ENTRIES = 96  # outcomes kept per grading process: at most about 7 MB


@dataclass(frozen=True, slots=True)
class RunKey:
    """What makes two jobs' runs interchangeable, and how this job's lines map to and from the key's."""

    key: Hashable
    lines: tuple[int, ...]  # the lines of the job's source that hold syntax, in order (a rank → its line)


def run_key(job: Job, tree: ast.Module) -> RunKey | None:
    """Return the job's key, or None when its runs cannot be reused (its calls have no name)."""
    if job.calls_key is None:
        return None
    shape: list[Any] = []  # every node's type and plain fields, in walk order: the tree, as ast.dump has it
    spans: list[int | None] = []
    for node in walk(tree):
        shape.append(type(node))
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                shape.append(len(value))
                shape.extend((type(item), item) for item in value if not isinstance(item, ast.AST))
            elif not isinstance(value, ast.AST):
                shape.append((type(value), value))  # the type too: 1, 1.0 and True are equal keys
        if hasattr(node, "lineno"):
            spans += node.lineno, getattr(node, "end_lineno", None)
    lines = sorted({line for line in spans if line is not None})
    rank = {line: index for index, line in enumerate(lines)}
    layout = tuple(rank[line] if line is not None else -1 for line in spans)
    served = tuple(sorted(job.served_modules.items()))
    return RunKey((job.function, job.filename, job.calls_key, served, tuple(shape), layout), tuple(lines))


class RunCache:
    """The latest outcomes of code that came back, by RunKey, with what the grader worked out from each alone."""

    def __init__(self, entries: int = _ENTRIES) -> None:
        # Lines as ranks; kept from a key's second run on, so that a student's own code takes no room.
        self._entries: RepeatCache[tuple[RunOutcome, dict[str, Any]]] = RepeatCache(entries)
        self.hits = 0

    def get(self, key: RunKey) -> RunOutcome | None:
        """Return the outcome of a run with this key, its lines mapped onto this job's, or None."""
        entry = self._entries.get(key.key)
        if entry is None:
            return None
        self.hits += 1
        return _map_lines(entry[0], lambda rank: key.lines[rank])

    def derived(self, key: RunKey) -> dict[str, Any]:
        """A store, shared by every run with this key, for results that depend on the outcome's values alone
        (the checks, the detectors' findings: never a line or a location); empty when the run is not kept."""
        entry = self._entries.get(key.key)
        return entry[1] if entry is not None else {}

    def put(self, key: RunKey, outcome: RunOutcome) -> None:
        """Keep an outcome that can be reused, and make its arrays read-only (it is now shared)."""
        rank = {line: index for index, line in enumerate(key.lines)}
        lines = {line for call in outcome.calls if call.error is not None for line in call.error.lines}
        if outcome.failure is not None or not lines <= rank.keys():
            return
        if self._entries.put(key.key, (_map_lines(outcome, rank.__getitem__), {})):
            for call in outcome.calls:
                _freeze(call.returned)
                _freeze(call.arguments_after)


def _map_lines(outcome: RunOutcome, new_line: Callable[[int], int]) -> RunOutcome:
    def error(raised: RaisedError | None) -> RaisedError | None:
        if raised is None:
            return None
        lines = tuple(new_line(line) for line in raised.lines)
        return dataclasses.replace(raised, line=lines[-1] if lines else None, lines=lines)

    calls = tuple(call if call.error is None else dataclasses.replace(call, error=error(call.error))
                  for call in outcome.calls)
    return dataclasses.replace(outcome, calls=calls)


def _freeze(value: Any) -> None:
    """Make every array in a decoded value read-only."""
    if type(value) is np.ndarray:
        value.flags.writeable = False
    elif type(value) in (list, tuple):
        for item in value:
            _freeze(item)
    elif type(value) is dict:
        for item in value.values():
            _freeze(item)
