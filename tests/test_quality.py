"""The habits of a maintained project, as tests: ruff and mypy are clean (their settings are in pyproject.toml)."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def run_tool(*command: str) -> subprocess.CompletedProcess:
    if shutil.which(command[0]) is None and not _module_available(command[0]):
        pytest.skip(f"{command[0]} is not installed (pip install '.[test]' installs it)")
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600)


def _module_available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_ruff_finds_nothing():
    done = run_tool("ruff", "check", "grader", "reference", "tests", "submissions_example")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_finds_nothing_in_the_package():
    done = run_tool("mypy")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
