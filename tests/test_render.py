"""Rendered feedback, pinned by golden files (set GRADER_UPDATE_GOLDEN=1 to rewrite them after a deliberate change)."""
from __future__ import annotations

import json
import os

import pytest

from grader import __version__
from grader.feedback import RENDERERS

from conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
CASES = ["np_sum_mistake", "incomplete", "uses_global", "dropout_mistakes"]


@pytest.fixture(scope="module")
def results(grader):
    previous = os.getcwd()
    os.chdir(ROOT)  # results carry the path as given: keep it relative and stable
    try:
        yield {name: grader.grade(f"submissions_example/{name}.ipynb") for name in CASES}
    finally:
        os.chdir(previous)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize(("format_name", "suffix"), [("text", "txt"), ("markdown", "md")])
def test_feedback_matches_golden_file(results, name, format_name, suffix):
    rendered = RENDERERS[format_name](results[name], __version__, False)
    golden = GOLDEN / f"{name}.{suffix}"
    if os.environ.get("GRADER_UPDATE_GOLDEN"):
        golden.write_text(rendered)
    assert rendered == golden.read_text()


def test_colour_only_when_asked(results):
    plain = RENDERERS["text"](results["np_sum_mistake"], __version__, False)
    coloured = RENDERERS["text"](results["np_sum_mistake"], __version__, True)
    assert "\033[" not in plain and "\033[" in coloured


def test_json_is_one_line_and_strict(results):
    text = RENDERERS["json"](results["np_sum_mistake"], __version__, False)
    assert "\n" not in text
    assert json.loads(text)["exercises"][1]["findings"][0]["math"].startswith("\\frac")
