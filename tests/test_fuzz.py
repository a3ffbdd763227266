"""Fuzzing: generated broken notebooks never make the grader raise, and never take longer than its limits.

Loading and extraction are fuzzed in process (hundreds of cases, fast); a smaller number of
generated submissions go through the whole pipeline with the real sandbox. Runs are
derandomized (the same cases every time, no example database), so CI is reproducible.
"""
from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.extract import extract_functions
from grader.grade import Grader
from grader.load import load_submission
from grader.records import Limits

from conftest import BACKWARD, COST, EXAMPLES

FUNCTIONS = [COST, BACKWARD, "forward_propagation_with_dropout", "backward_propagation_with_dropout"]
WALL_SECONDS = 1.0
FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SANDBOXED = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

KEYS = ["nbformat", "nbformat_minor", "cells", "worksheets", "cell_type", "source", "input", "outputs", "metadata",
        "code", "markdown", "id", "execution_count"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(KEYS),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8),
                                                                        children, max_size=5),
    max_leaves=40,
)

# Pieces of student code, honest and not: a grammar loose enough to break the parser in many ways.
LINES = [
    "import numpy as np", "from reg_utils import *", "from reg_utils import compute_cost", "%matplotlib inline",
    "!pip install numpy", "x = 1", "    return 0.0", "    return np.sum(A3)", "    m = Y.shape[1]",
    f"def {COST}(A3, Y, parameters, lambd):", f"def {BACKWARD}(X, Y, cache, lambd):", f"async def {COST}(a, b, c, d):",
    "    yield 1", "    while True: pass", "    raise SystemExit", "    import os; os._exit(0)", "class C:", "if True:",
    "try:", "except Exception:", "    pass", "  return 'unbalanced indent'", "λ = 0.7", "def π(): return 3.14",
    "    return (((((1)))))", "    return " + "-" * 500 + "1", "    return " + "(" * 300 + "1" + ")" * 300,
    "'''unterminated", "\x00", "\ud800", "\u2028", "\x0c", "\r", "\t\treturn 1", "@decorator", "lambd?", "?",
    f"{COST} = 3", f"del {COST}", "    global m", "m = 5",
]
sources = st.lists(st.sampled_from(LINES), max_size=12).map("\n".join)
cells = st.lists(
    st.fixed_dictionaries({"cell_type": st.sampled_from(["code", "markdown", "raw", 7]), "source": sources
                           | st.lists(sources, max_size=3) | json_values}),
    max_size=8,
)
notebooks = st.fixed_dictionaries({"nbformat": st.sampled_from([3, 4, 5, 99, "4", None]), "cells": cells})


def serialized(document: object) -> bytes:
    return json.dumps(document).encode("utf-8", "surrogatepass")


def check_in_process(tmp_path, data: bytes, suffix: str = ".ipynb") -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    started = time.monotonic()
    submission = load_submission(path)
    extractions = extract_functions(submission, FUNCTIONS)
    assert time.monotonic() - started < 5
    assert submission.problem is None or (submission.problem and "\n" not in submission.problem)
    for extraction in extractions:
        if extraction.found:
            compile(extraction.source, "<fuzz>", "exec", dont_inherit=True, flags=0x400)  # PyCF_ONLY_AST: it parses
        if extraction.syntax_error is not None:
            assert "\n" not in extraction.syntax_error.message


@FAST
@given(document=json_values)
def test_any_json_loads_and_extracts_without_raising(tmp_path, document):
    check_in_process(tmp_path, serialized(document))


@FAST
@given(document=notebooks)
def test_notebook_shaped_json_with_broken_code_loads_and_extracts_without_raising(tmp_path, document):
    check_in_process(tmp_path, serialized(document))


CORRECT = (EXAMPLES / "correct.ipynb").read_bytes()


@FAST
@given(cut=st.integers(0, len(CORRECT)), noise=st.binary(max_size=64), position=st.integers(0, len(CORRECT)))
def test_a_damaged_real_notebook_loads_and_extracts_without_raising(tmp_path, cut, noise, position):
    damaged = CORRECT[:position] + noise + CORRECT[position:]
    check_in_process(tmp_path, damaged[:cut] if cut < len(damaged) else damaged)


@FAST
@given(code=sources)
def test_broken_python_files_load_and_extract_without_raising(tmp_path, code):
    check_in_process(tmp_path, code.encode("utf-8", "surrogatepass"), suffix=".py")


@pytest.fixture(scope="module")
def grader():
    with Grader("regularization", Limits(wall_seconds=WALL_SECONDS)) as opened:
        yield opened


@SANDBOXED
@given(document=notebooks)
def test_the_whole_pipeline_grades_generated_notebooks_within_its_limits(grader, tmp_path, document):
    path = tmp_path / "fuzz.ipynb"
    path.write_bytes(serialized(document))
    started = time.monotonic()
    result = grader.grade(path)
    # Each exercise within its wall time plus the worker's grace, plus the pipeline itself.
    assert time.monotonic() - started < len(FUNCTIONS) * (WALL_SECONDS + 1) + 3
    assert result.status in ("passed", "failed", "error")
    assert 0 <= result.score <= result.max_score
    assert {exercise.function for exercise in result.exercises} == set(FUNCTIONS)
