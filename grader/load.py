"""Load a submission: read a notebook or a Python file into its code cells, never executing it.

Notebooks are read as plain JSON rather than through nbformat: validation is slow on big
notebooks, and students' files are often slightly off-schema (missing ids, outputs or
metadata) in ways that do not matter for grading. nbformat 4 and 3 are both understood.

An annotated notebook (`--format notebook`) grades as the original did: the cells the grader
inserted (metadata `"grader": {"feedback": true}`) are Markdown, dropped with the rest. A code
cell is graded whatever its metadata says: it is the student's code.
"""
from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

from grader.records import Cell, Submission

MAX_SUBMISSION_BYTES = 200 << 20  # bigger files are refused unread: no notebook is that large honestly


def load_submission(path: str | Path) -> Submission:
    """Read `path` (.ipynb or .py) into a Submission; unreadable input becomes `problem`, never an exception."""
    shown = str(path)
    file = Path(path)
    try:
        if file.is_dir():
            return Submission(shown, "", (), "is a directory, not a notebook")
        status = file.stat()
        if not stat.S_ISREG(status.st_mode):
            # A FIFO or a device (/dev/zero) would block or never end.
            return Submission(shown, "", (), "is not a regular file")
        if status.st_size > MAX_SUBMISSION_BYTES:
            return Submission(shown, "", (),
                              f"file is {status.st_size >> 20} MB; the limit is {MAX_SUBMISSION_BYTES >> 20} MB")
        with file.open("rb") as opened:
            data = opened.read(MAX_SUBMISSION_BYTES + 1)  # bounded, even if the file grows meanwhile
        if len(data) > MAX_SUBMISSION_BYTES:
            return Submission(shown, "", (), f"file is over the limit of {MAX_SUBMISSION_BYTES >> 20} MB")
    except OSError as error:
        return Submission(shown, "", (), f"cannot read the file: {error.strerror or error}")
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        return Submission(shown, digest, (), "the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return Submission(shown, digest, (), f"not UTF-8 text (bad byte at offset {error.start})")
    if file.suffix == ".py":
        return Submission(shown, digest, (Cell(0, text),))
    try:
        cells = _notebook_code_cells(json.loads(text))
    except json.JSONDecodeError as error:
        return Submission(shown, digest, (),
                          f"not a notebook: invalid JSON at line {error.lineno}, column {error.colno}")
    except _NotANotebook as error:
        return Submission(shown, digest, (), f"not a notebook: {error}")
    except RecursionError:
        return Submission(shown, digest, (), "not a notebook: the JSON is nested too deeply")
    except MemoryError:
        return Submission(shown, digest, (), "not a notebook: too large to read in memory")
    except ValueError as error:  # e.g. an integer of thousands of digits
        return Submission(shown, digest, (), f"not a notebook: {str(error)[:120]}")
    return Submission(shown, digest, cells)


class _NotANotebook(ValueError):
    """The JSON parsed, but it is not shaped like a Jupyter notebook."""


def _notebook_code_cells(document: object) -> tuple[Cell, ...]:
    if not isinstance(document, dict):
        raise _NotANotebook("the top level is not a JSON object")
    version = document.get("nbformat")
    if "worksheets" in document:
        # nbformat 3 (and 2) keep cells inside worksheets and call the source "input".
        worksheets = _list(document["worksheets"], "worksheets")
        raw_cells = [cell for sheet in worksheets if isinstance(sheet, dict)
                     for cell in _list(sheet.get("cells", []), "cells")]
        source_key = "input"
    elif "cells" in document:
        # nbformat 4, and later versions as long as they keep its cell layout.
        raw_cells = _list(document["cells"], "cells")
        source_key = "source"
    else:
        raise _NotANotebook(f"unknown nbformat {version!r} without cells" if version is not None else "no 'cells' list")
    cells: list[Cell] = []
    for index, cell in enumerate(raw_cells):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            count = cell.get("execution_count" if source_key == "source" else "prompt_number")
            cells.append(Cell(index, _text(cell.get(source_key, "")), len(cells) + 1,
                              count if type(count) is int and 0 <= count < 10**9 else None))
    return tuple(cells)


def _list(value: object, name: str) -> list:
    if not isinstance(value, list):
        raise _NotANotebook(f"'{name}' is not a list")
    return value


def _text(source: object) -> str:
    """Join a cell source that may be a string or a list of lines (the two forms nbformat allows)."""
    if isinstance(source, str):
        text = source
    elif isinstance(source, list):
        text = "".join(part for part in source if isinstance(part, str))
    else:
        return ""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # JSON may spell lone surrogates ("\\ud800" escapes) that no Python source or terminal accepts.
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text
