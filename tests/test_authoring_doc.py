"""docs/authoring.md runs as written: its commands, in order, in an empty folder, with the installed `grade`.

The guide's conventions, which this module reads:
- a ```sh block is commands, one a line, run in the reader's folder; `# exits N` at the end of a line
  is the exit status the guide promises (0 when it says nothing);
- a ```text block right after a ```sh block is lines its output shows, in order (a line `...` skips any,
  a line ending in ` ...` is the start of one);
- a fenced block whose first line is `# PATH` is a file the reader writes: whole, or with
  `# PATH (append)` lines added at its end, `# PATH (edit)` lines each replacing the one line of the
  file with the same indentation and key, `# PATH (before "LINE")` lines inserted above the one line LINE.
Its tables of keys must list exactly the keys the spec's schema accepts and the checks the grader registers.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.assignment import schema
from grader.checks import CHECKS

from conftest import ROOT

GUIDE = ROOT / "docs" / "authoring.md"
EXITS = re.compile(r"\s+#\s*exits\s+(\d+)\s*$")
FILE_HEADER = re.compile(r'^# (?P<path>[\w./-]+)(?: \((?P<mode>append|edit|before "(?P<anchor>[^"]+)")\))?\s*$')


@dataclass(frozen=True)
class Block:
    """One fenced block of the guide."""

    language: str
    lines: tuple[str, ...]
    line_number: int
    """Where it starts in the guide, for failure messages."""


def fenced_blocks(text: str) -> list[Block]:
    blocks, lines = [], text.splitlines()
    index = 0
    while index < len(lines):
        opening = re.match(r"^```(\w*)\s*$", lines[index])
        if opening is None:
            index += 1
            continue
        end = next(number for number in range(index + 1, len(lines)) if lines[number].startswith("```"))
        blocks.append(Block(opening.group(1), tuple(lines[index + 1:end]), index + 1))
        index = end + 1
    return blocks


def file_header(block: Block) -> re.Match | None:
    return FILE_HEADER.match(block.lines[0]) if block.lines and block.language != "sh" else None


def installed_commands(folder: Path) -> dict[str, str]:
    """An environment whose `grade` is the installed command (as tests/test_cli.py finds it) and whose `python`
    is this one; `python -m grader` stands in only where no script was installed next to this Python."""
    folder.mkdir()
    script = Path(sys.executable).with_name("grade")
    grade = f'exec "{script}" "$@"' if script.exists() else f'exec "{sys.executable}" -m grader "$@"'
    for name, body in (("grade", grade), ("python", f'exec "{sys.executable}" "$@"')):
        (folder / name).write_text(f"#!/bin/sh\n{body}\n")
        (folder / name).chmod(0o755)
    environment = {key: value for key, value in os.environ.items() if key != "GITHUB_STEP_SUMMARY"}
    return {**environment, "PATH": f"{folder}{os.pathsep}{environment.get('PATH', '')}", "NO_COLOR": "1"}


def write_file(folder: Path, block: Block) -> None:
    header = file_header(block)
    assert header is not None
    path = folder / header["path"]
    body = list(block.lines[1:])
    mode = header["mode"]
    if mode is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(block.lines) + "\n")
        return
    assert path.is_file(), f"guide line {block.line_number}: {path.name} should exist by now"
    old = path.read_text().splitlines()
    if mode == "append":
        gap = ["", ""] if path.suffix == ".py" else []
        new = [*old, *gap, *body] if old and old[-1].strip() == "" else [*old, "", *gap, *body]
    elif mode == "edit":
        new = old
        for line in body:
            key = re.match(r"^(\s*[\w.-]+:)", line)
            assert key, f"guide line {block.line_number}: {line!r} is not a `key: value` line"
            matches = [number for number, current in enumerate(new) if current.startswith(key.group(1))]
            assert len(matches) == 1, f"guide line {block.line_number}: {len(matches)} lines of {path.name} " \
                                      f"start with {key.group(1)!r}, not one"
            new = [*new[:matches[0]], line, *new[matches[0] + 1:]]
    else:
        matches = [number for number, current in enumerate(old) if current == header["anchor"]]
        assert len(matches) == 1, f"guide line {block.line_number}: {path.name} has {len(matches)} lines " \
                                  f"{header['anchor']!r}, not one"
        new = [*old[:matches[0]], *body, *old[matches[0]:]]
    path.write_text("\n".join(new) + "\n")


def run_commands(block: Block, folder: Path, environment: dict[str, str]) -> str:
    """Run a sh block's commands one by one, asserting each exit status; the block's output, merged."""
    output = []
    for offset, line in enumerate(block.lines, start=block.line_number + 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        promised = EXITS.search(line)
        command = EXITS.sub("", line)
        done = subprocess.run(["bash", "-c", command], cwd=folder, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        expected = int(promised.group(1)) if promised else 0
        assert done.returncode == expected, \
            f"guide line {offset}: `{command}` exited {done.returncode}, the guide says {expected}:\n{done.stdout}"
        output.append(done.stdout)
    return "".join(output)


def assert_shows(expected: Block, output: str) -> None:
    """Every line of `expected` is a line of `output`, in order; `...` skips any number of lines."""
    shown = [line.rstrip() for line in output.splitlines()]
    position, skipping = 0, False
    for line in expected.lines:
        if line.strip() == "...":
            skipping = True
            continue
        wanted = line.rstrip()
        # A line ending in " ..." shows only how the printed line starts.
        prefix = wanted[:-len(" ...")] if wanted.endswith(" ...") else None

        def matches(printed: str) -> bool:
            return printed.startswith(prefix) if prefix is not None else printed == wanted

        if skipping:
            found = next((number for number in range(position, len(shown)) if matches(shown[number])), None)
        else:
            found = position if position < len(shown) and matches(shown[position]) else None
        assert found is not None, (f"guide line {expected.line_number}: the output does not show {wanted!r} "
                                   f"where the guide says; it was:\n{output}")
        position, skipping = found + 1, False


def test_every_command_in_the_guide_runs_and_prints_what_the_guide_shows(tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    environment = installed_commands(tmp_path / "bin")
    previous: tuple[Block, str] | None = None
    ran = []
    for block in fenced_blocks(GUIDE.read_text()):
        if block.language == "sh":
            output = run_commands(block, folder, environment)
            ran.extend(line for line in block.lines if line.strip())
            previous = (block, output)
            continue
        if block.language == "text":
            assert previous is not None, f"guide line {block.line_number}: output shown after no command"
            assert_shows(block, previous[1])
        elif file_header(block):
            write_file(folder, block)
        previous = None
    # The walk the guide promises: a scaffold, its adequacy, a notebook and a folder graded.
    for command in ("grade init ridge", "grade check-spec ridge", "grade --assignment ridge mutants/wrong_m.ipynb",
                    "grade --assignment ridge mutants --out graded"):
        assert any(line.startswith(command) for line in ran), command


def test_every_file_block_names_a_path_and_every_output_follows_a_command():
    blocks = fenced_blocks(GUIDE.read_text())
    written = [block for block in blocks if file_header(block)]
    assert len(written) >= 10  # the exercise's three edits, the weak probes, the mutants, the second exercise
    for before, block in zip(blocks, blocks[1:]):
        if block.language == "text":
            assert before.language == "sh", f"guide line {block.line_number}: output shown after no command"
    for block in blocks:
        first = block.lines[0] if block.lines else ""
        if block.language in ("python", "yaml") and first.startswith("# ") and ("/" in first or ".py" in first):
            assert file_header(block), f"guide line {block.line_number}: {block.lines[0]!r} is not a file header"


def table_rows(text: str, heading: str) -> dict[str, str]:
    """The rows of the guide's table whose first header cell is `heading`: first cell's `name` → second cell."""
    lines = text.splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith(f"| {heading} |"))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        name = re.fullmatch(r"`([\w-]+)`", cells[0])
        assert name, f"{heading}: {cells[0]!r} is not a `key`"
        rows[name.group(1)] = cells[1]
    return rows


@pytest.mark.parametrize(("heading", "keys"), [
    ("Top-level key", schema.TOP_KEYS),
    ("`helpers:` key", schema.HELPER_KEYS),
    ("Exercise key", schema.EXERCISE_KEYS),
])
def test_the_guide_lists_exactly_the_keys_the_spec_accepts(heading, keys):
    rows = table_rows(GUIDE.read_text(), heading)
    assert set(rows) == set(keys)
    if heading == "Exercise key":
        required = {key for key, cell in rows.items() if cell == "yes"}
        assert required == schema.REQUIRED_EXERCISE_KEYS


def test_the_guide_lists_every_check_with_its_options_and_the_prose_keys():
    text = GUIDE.read_text()
    rows = table_rows(text, "Check")
    assert set(rows) == set(CHECKS)
    for name, cell in rows.items():
        listed = set(re.findall(r"`(\w+)`", cell))
        assert listed == set(CHECKS[name].options), name
    prose = re.search(r"\*\*its prose\*\*.*?(?=\n\n)", text, re.S)
    assert prose and set(schema.MISTAKE_KEYS) <= set(re.findall(r"`(\w+)`", prose.group(0)))
    assert all(f"`{key}`" in text for key in schema.CHECK_KEYS)


def test_the_readme_links_the_guide():
    assert "docs/authoring.md" in (ROOT / "README.md").read_text()
