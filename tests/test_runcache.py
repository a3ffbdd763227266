"""Runs reused across submissions (grader.runcache) give exactly the results a fresh run would."""
from __future__ import annotations

import ast
import re

import numpy as np
import pytest
from test_grade import BACKWARD, CORRECT, COST, DW2_CORRECT, IMPORTS

from grader import grade
from grader.diagnose import run_detectors
from grader.feedback.result_json import to_json
from grader.grade import Grader
from grader.records import CallOutcome, Limits, RaisedError, RunFailure, RunOutcome
from grader.repeats import RepeatCache
from grader.runcache import RunCache, RunKey

from conftest import write_notebook

# dW2 transposed: a shape error on the probes with non-square W2, a wrong value on the others.
TRANSPOSED = CORRECT[BACKWARD].replace(DW2_CORRECT, "dW2 = 1./m * np.dot(dZ2, A1.T) + lambd / m * W2.T")
# A shape error on every probe: the finding is located by the traceback's line.
RESHAPED = CORRECT[BACKWARD].replace(DW2_CORRECT, "dW2 = 1./m * np.dot(dZ2, A1.T) + lambd / m * W2.reshape(7)")


def with_notes(source: str) -> str:
    """The same code with comments and blank lines that move every line after the signature."""
    source = source.replace("):\n", "):\n    # my notes\n\n    # more notes\n", 1)
    return re.sub(r"(dW2 = [^\n]*)", r"\1  # why?", source)


@pytest.fixture
def grader():
    with Grader("regularization", Limits(wall_seconds=2)) as opened:
        yield opened


def comparable(result) -> dict:
    document = to_json(result, "test")
    del document["submission"]  # its path and hash
    del document["sandbox"]  # a second grader in this process starts its worker after reference code was loaded
    return document


def finding_lines(result) -> list[tuple[int, int]]:
    backward = next(exercise for exercise in result.exercises if exercise.function == BACKWARD)
    return [(f.location.cell, f.location.line) for f in backward.findings if f.location is not None]


@pytest.mark.parametrize("source", [TRANSPOSED, RESHAPED], ids=["transposed", "reshaped"])
def test_the_same_code_laid_out_with_other_comments_reuses_the_run_and_points_at_its_own_lines(grader, tmp_path,
                                                                                               source, monkeypatch):
    detector_runs = []
    monkeypatch.setattr(grade, "run_detectors", lambda *arguments: detector_runs.append(1) or run_detectors(*arguments))
    first_path = write_notebook(tmp_path / "a.ipynb", IMPORTS, CORRECT[COST], source)
    first = grader.grade(first_path)
    assert grader._runs.hits == 0
    assert comparable(grader.grade(first_path)) == comparable(first)  # a run is kept once its code comes back
    hits, detected = grader._runs.hits, len(detector_runs)
    moved_path = write_notebook(tmp_path / "b.ipynb", IMPORTS, CORRECT[COST], with_notes(source))
    moved = grader.grade(moved_path)
    assert grader._runs.hits == hits + 2  # both functions: nothing of this submission ran
    assert len(detector_runs) == detected and (detected >= 1 or source == RESHAPED)  # detections worked out once
    with Grader("regularization", Limits(wall_seconds=2)) as fresh:
        assert comparable(moved) == comparable(fresh.grade(moved_path))
    assert finding_lines(first) and [(cell, line + 3) for cell, line in finding_lines(first)] == finding_lines(moved)


@pytest.mark.parametrize("other", [
    TRANSPOSED.replace("lambd / m * W2.T", "lambd / m * W2.T * 1"),  # other code
    TRANSPOSED.replace("+ lambd / m * W2.T", "+ (lambd / m\n        * W2.T)"),  # a statement split otherwise
])
def test_other_code_or_another_line_layout_runs_again(grader, tmp_path, other):
    for _ in range(2):  # kept from the second time on
        grader.grade(write_notebook(tmp_path / "a.ipynb", IMPORTS, CORRECT[COST], TRANSPOSED))
    hits = grader._runs.hits
    grader.grade(write_notebook(tmp_path / "b.ipynb", IMPORTS, CORRECT[COST], other))
    assert grader._runs.hits == hits + 1  # the cost function only


def test_a_run_that_did_not_finish_runs_again(tmp_path):
    spinning = CORRECT[COST].replace("    m = Y.shape[1]\n", "    m = Y.shape[1]\n    while True:\n        pass\n", 1)
    assert spinning != CORRECT[COST]
    with Grader("regularization", Limits(wall_seconds=0.5)) as grader:
        for name in ("a", "b", "c"):
            result = grader.grade(write_notebook(tmp_path / f"{name}.ipynb", IMPORTS, spinning, CORRECT[BACKWARD]))
            assert result.exercises[0].status == "error"
        assert grader._runs.hits == 1  # the backward function's third run only: kept from its second


def outcome_with(lines: tuple[int, ...], failure: RunFailure | None = None) -> RunOutcome:
    error = RaisedError("ValueError", "shapes", lines[-1], lines)
    returned = {"dW": np.ones((2, 2))}
    return RunOutcome((CallOutcome(returned, (), None), CallOutcome(None, (), error)), failure, "", 0.1)


def test_traceback_lines_are_mapped_by_rank_and_reused_arrays_are_read_only():
    cache = RunCache()
    first, second = outcome_with((3, 7)), outcome_with((3, 7))
    cache.put(RunKey("k", (1, 3, 5, 7)), first)
    assert cache.get(RunKey("k", (1, 3, 5, 7))) is None  # seen once: a student's own code, maybe
    first.calls[0].returned["dW"][0, 0] = 5.0  # not shared, so not frozen
    cache.put(RunKey("k", (1, 3, 5, 7)), second)
    reused = cache.get(RunKey("k", (2, 6, 10, 11)))
    assert reused.calls[1].error.lines == (6, 11) and reused.calls[1].error.line == 11
    with pytest.raises(ValueError):
        reused.calls[0].returned["dW"][0, 0] = 5.0
    assert cache.get(RunKey("other", (1, 3, 5, 7))) is None


def test_failed_runs_and_lines_outside_the_layout_are_not_kept():
    cache = RunCache()
    for _ in range(2):
        cache.put(RunKey("failed", (3, 7)), outcome_with((3, 7), RunFailure("timeout", "took longer", None, 1)))
        cache.put(RunKey("unmapped", (3,)), outcome_with((3, 7)))
    assert cache.get(RunKey("failed", (3, 7))) is None and cache.get(RunKey("unmapped", (3,))) is None


def test_only_what_comes_back_is_kept_and_the_least_recently_used_makes_room():
    cache = RepeatCache(2)
    assert not cache.put("own", 1) and len(cache) == 0  # seen once
    for key in ("a", "b", "a", "b"):
        cache.put(key, key.upper())
    assert cache.get("a") == "A"  # now the most recently used
    assert cache.put("c", "C") is False and cache.put("c", "C") is True
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == ("A", None, "C", 2)


@pytest.mark.parametrize(("first", "second", "same"), [
    ("return x // 1", "return x // 1  # floor", True),
    ("return x // 1", "return x // 1.0", False),  # 1 == 1.0 in Python, not in the sandbox's results
    ("return x // 1", "return x // True", False),
    ("return {**x}", "return {None: x}", False),
    ("return [x, x]", "return [[x], x]", False),
])
def test_keys_tell_apart_every_difference_of_code_but_comments_and_blank_lines(first, second, same):
    from grader.records import Job
    from grader.runcache import run_key

    def key(body: str) -> RunKey:
        source = f"def f(x):\n\n    {body}\n"
        return run_key(Job(source, "<s>", "f", (), {}, "calls"), ast.parse(source))

    assert (key(first).key == key(second).key) is same
