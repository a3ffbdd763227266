"""Shared fixtures: notebooks built in memory with nbformat's v4 factories."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions_example"
COST = "compute_cost_with_regularization"
BACKWARD = "backward_propagation_with_regularization"
GRADED_SECONDS = 3.0
"""Each graded function's time limit for the shared grader (an endless loop costs this much)."""


@pytest.fixture(scope="session")
def grader():
    """One grader of the built-in assignment for the whole session: starting one costs ~0.3 s and loads the spec."""
    from grader.grade import Grader
    from grader.records import Limits

    with Grader("regularization", Limits(wall_seconds=GRADED_SECONDS)) as opened:
        yield opened


def write_notebook(path: Path, *cells: str | tuple[str, str]) -> Path:
    """Write a v4 notebook whose cells are code strings, or ("markdown", text) pairs."""
    built = [
        new_markdown_cell(cell[1]) if isinstance(cell, tuple) else new_code_cell(cell)
        for cell in cells
    ]
    nbformat.write(new_notebook(cells=built), str(path))
    return path


@pytest.fixture
def notebook(tmp_path):
    """A factory: notebook(*cells) → path of a fresh notebook file."""
    counter = iter(range(10_000))

    def make(*cells: str | tuple[str, str]) -> Path:
        return write_notebook(tmp_path / f"nb{next(counter)}.ipynb", *cells)

    return make
