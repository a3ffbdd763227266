"""Loading: notebooks of both formats and Python files become code cells; bad input becomes a problem."""
from __future__ import annotations

import json

import pytest

from grader.load import load_submission


def test_v4_notebook_keeps_code_cells_with_their_notebook_index(notebook):
    path = notebook(("markdown", "# title"), "x = 1", ("markdown", "text"), "def f():\n    return 2")
    submission = load_submission(path)
    assert submission.problem is None
    assert [(cell.index, cell.source) for cell in submission.cells] == [(1, "x = 1"), (3, "def f():\n    return 2")]
    assert len(submission.sha256) == 64


def test_source_as_list_or_string_and_missing_ids_and_outputs(tmp_path):
    document = {"nbformat": 4, "nbformat_minor": 2, "metadata": {}, "cells": [
        {"cell_type": "code", "source": ["a = 1\n", "b = 2"]},
        {"cell_type": "code", "source": "c = 3", "weird": True},
    ]}
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(document))
    assert [cell.source for cell in load_submission(path).cells] == ["a = 1\nb = 2", "c = 3"]


def test_nbformat_3_reads_worksheets_and_input(tmp_path):
    document = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "markdown", "source": "hi"}, {"cell_type": "code", "input": ["y = 2\n"]}]},
    ]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(document))
    assert [(cell.index, cell.source) for cell in load_submission(path).cells] == [(1, "y = 2\n")]


def test_python_file_is_one_cell(tmp_path):
    path = tmp_path / "answer.py"
    path.write_text("def f():\n    return 1\n")
    assert [cell.source for cell in load_submission(path).cells] == ["def f():\n    return 1\n"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "invalid JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b'{"nbformat": 99, "hello": 1}', "unknown nbformat 99"),
        (b'{"cells": 5, "nbformat": 4}', "not a list"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_unreadable_input_is_a_problem_not_an_exception(tmp_path, content, reason):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    submission = load_submission(path)
    assert submission.cells == ()
    assert reason in submission.problem


def test_directory_and_missing_file_are_problems(tmp_path):
    folder = tmp_path / "folder.ipynb"
    folder.mkdir()
    assert "directory" in load_submission(folder).problem
    assert "cannot read" in load_submission(tmp_path / "absent.ipynb").problem
