"""Broken and odd notebooks, graded through the real pipeline: each is a result with a one-line reason, in time."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from grader.extract.notebook import MAX_SYNTAX_DEPTH
from grader.grade import Grader
from grader.records import Limits

from conftest import BACKWARD, COST, EXAMPLES

WALL_SECONDS = 2.0
CORRECT_COST = """\
def compute_cost_with_regularization(A3, Y, parameters, lambd):
    m = Y.shape[1]
    W1, W2, W3 = parameters["W1"], parameters["W2"], parameters["W3"]
    return compute_cost(A3, Y) + lambd / (2 * m) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))
"""
IMPORTS = "import numpy as np\nfrom reg_utils import compute_cost"


@pytest.fixture(scope="module")
def grader():
    with Grader("regularization", Limits(wall_seconds=WALL_SECONDS)) as opened:
        yield opened


def v4(*sources: str) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "code", "source": source, "metadata": {}, "outputs": []}
                                 for source in sources]}).encode()


def with_outputs(megabytes: int) -> bytes:
    notebook = new_notebook(cells=[new_code_cell(IMPORTS), new_code_cell(CORRECT_COST)])
    chunk = "A" * (1 << 20)
    notebook.cells[1].outputs = [new_output("stream", name="stdout", text=chunk) for _ in range(megabytes)]
    return nbformat.writes(notebook).encode()


def nested(depth: int) -> str:
    return f"def {COST}(A3, Y, parameters, lambd):\n    return " + "(" * depth + "1" + ")" * depth + "\n"


CORRECT_NOTEBOOK = (EXAMPLES / "correct.ipynb").read_bytes()
# name -> (file content, what the reason says, whether the cost exercise passes)
CASES: dict[str, tuple[bytes, str, bool]] = {
    "garbage_bytes": (bytes(range(256)) * 64, "not UTF-8", False),
    "empty_file": (b"", "empty", False),
    "truncated_json": (CORRECT_NOTEBOOK[: len(CORRECT_NOTEBOOK) // 2], "invalid JSON", False),
    "json_list": (b"[1, 2, 3]", "not a JSON object", False),
    "json_without_cells": (b'{"hello": "world"}', "no 'cells' list", False),
    "cells_not_a_list": (b'{"nbformat": 4, "cells": {"a": 1}}', "'cells' is not a list", False),
    "deeply_nested_json": (b"[" * 200_000, "nested too deeply", False),
    "giant_integer": (b'{"nbformat": ' + b"7" * 10_000 + b', "cells": []}', "not a notebook", False),
    "future_nbformat_without_cells": (b'{"nbformat": 99, "pages": []}', "unknown nbformat 99", False),
    "future_nbformat_with_cells": (json.dumps({"nbformat": 5, "nbformat_minor": 0, "cells": [
        {"cell_type": "code", "source": IMPORTS}, {"cell_type": "code", "source": CORRECT_COST}]}).encode(), "", True),
    "nbformat_3": (json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": IMPORTS.splitlines(True)},
        {"cell_type": "code", "input": CORRECT_COST}]}]}).encode(), "", True),
    "source_as_list": (json.dumps({"nbformat": 4, "cells": [
        {"cell_type": "code", "source": IMPORTS.splitlines(True)},
        {"cell_type": "code", "source": CORRECT_COST.splitlines(True)}]}).encode(), "", True),
    "source_of_wrong_types": (json.dumps({"nbformat": 4, "cells": [
        {"cell_type": "code", "source": 5}, {"cell_type": "code", "source": [None, 3, {"x": 1}]},
        "not a cell", {"cell_type": "code"}, {"source": "x = 1"}]}).encode(), "not found", False),
    "hundred_megabytes_of_outputs": (with_outputs(100), "", True),
    "twenty_thousand_cells": (v4(IMPORTS, *(f"x{index} = {index}" for index in range(20_000)), CORRECT_COST), "", True),
    "nested_past_the_parser": (v4(IMPORTS, nested(10_000)), "too many nested parentheses", False),
    "nested_past_the_analysis": (v4(IMPORTS, f"def {COST}(A3, Y, parameters, lambd):\n    return "
                                    + "+".join(["1"] * (MAX_SYNTAX_DEPTH + 50)) + "\n"), "nested too deeply", False),
    "unary_chain": (v4(IMPORTS, f"def {COST}(A3, Y, parameters, lambd):\n    return " + "-" * 100_000 + "1\n"),
                    "nested too deeply", False),
    "defined_a_thousand_times": (v4(IMPORTS, *([f"def {COST}(A3, Y, parameters, lambd):\n    return 0.0\n"] * 999),
                                    CORRECT_COST), "", True),
    "unicode_names": (v4(IMPORTS, CORRECT_COST.replace("lambd", "λ").replace("parameters", "paramètres")
                         + "\nπ = 3.14159\n"), "", True),
    "lone_surrogates_and_odd_line_breaks": (v4(IMPORTS, CORRECT_COST.replace("    m = Y.shape[1]\n",
                                               "    note = '\ud800 \u2028 \x0c'\n    m = Y.shape[1]\n")), "", True),
    "null_bytes_in_code": (v4(IMPORTS, CORRECT_COST + "\x00"), "null bytes", False),
    "indented_inside_if": (v4(IMPORTS, "if True:\n" + "".join("    " + line + "\n" for line in CORRECT_COST.splitlines())),
                           "", True),
    "function_missing": (v4(IMPORTS, "def compute_cost(A3, Y):\n    return 0\n"), "not found", False),
}


def written(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / f"{name}.ipynb"
    # The surrogate case must survive as the JSON escape a student's file would hold.
    path.write_bytes(content.replace("\ud800".encode("utf-8", "surrogatepass"), b"\\ud800"))
    return path


def reasons(result) -> list[str]:
    """Every line the student reads about why something could not be graded."""
    texts = [message for _, message in result.errors]
    for exercise in result.exercises:
        texts += [check.message for check in exercise.checks if not check.passed]
        texts += [finding.evidence for finding in exercise.findings]
    return texts


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_notebook_is_a_result_with_a_one_line_reason_in_time(grader, tmp_path, name):
    content, reason, passes = CASES[name]
    path = written(tmp_path, name, content)
    started = time.monotonic()
    result = grader.grade(path)
    seconds = time.monotonic() - started
    assert seconds < 2 * WALL_SECONDS + 5  # two exercises at most run, each within its limit
    cost = next(exercise for exercise in result.exercises if exercise.function == COST)
    if passes:
        assert cost.status == "passed", reasons(result)
        return
    assert result.status in ("failed", "error") and cost.status != "passed"
    texts = reasons(result)
    assert texts and all(text and "\n" not in text for text in texts), texts
    assert any(reason in text for text in texts), texts


def test_a_fifo_is_refused_without_reading_it(grader, tmp_path):
    path = tmp_path / "pipe.ipynb"
    os.mkfifo(path)
    result = grader.grade(path)
    assert result.status == "error" and result.errors == (("unreadable", "is not a regular file"),)


def test_the_last_of_a_thousand_definitions_is_graded_and_the_repetition_is_noted(grader, tmp_path):
    result = grader.grade(written(tmp_path, "thousand", CASES["defined_a_thousand_times"][0]))
    cost = next(exercise for exercise in result.exercises if exercise.function == COST)
    assert any("defined 1000 times" in note for note in cost.notes)


def test_a_missing_exercise_does_not_stop_the_other(grader, tmp_path):
    result = grader.grade(written(tmp_path, "only_cost", v4(IMPORTS, CORRECT_COST)))
    statuses = {exercise.function: exercise.status for exercise in result.exercises}
    assert statuses == {COST: "passed", BACKWARD: "missing", "forward_propagation_with_dropout": "missing",
                        "backward_propagation_with_dropout": "missing"}
