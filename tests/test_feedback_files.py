"""Feedback a student opens: the annotated notebook, its HTML page, the pictures, and what --feedback lets them see."""
from __future__ import annotations

import base64
import json
import math
import re
import subprocess
import sys
import textwrap
from dataclasses import replace

import nbformat
import pytest

from grader.feedback import render
from grader.feedback.audience import for_audience
from grader.feedback.heatmap import heatmap_svg
from grader.feedback.notebook import annotate, is_feedback_cell, notebook_text
from grader.feedback.result_json import from_json, to_json

from conftest import BACKWARD, EXAMPLES, ROOT

MISTAKE = EXAMPLES / "np_sum_mistake.ipynb"


@pytest.fixture(scope="module")
def mistaken(grader):
    return grader.grade(MISTAKE)


def _cell_text(cell) -> str:
    """A cell as Jupyter writes it inside a notebook's cells list (two levels of indentation of 1)."""
    return textwrap.indent(json.dumps(cell, indent=1, sort_keys=True, ensure_ascii=False), "  ").lstrip()


def test_the_annotated_notebook_is_valid_and_keeps_every_student_cell_byte_for_byte(mistaken):
    original_text = MISTAKE.read_text()
    original = json.loads(original_text)
    text = notebook_text(annotate(mistaken).document)
    nbformat.validate(nbformat.reads(text, as_version=4))
    annotated = json.loads(text)
    assert (annotated["nbformat"], annotated["nbformat_minor"]) == (original["nbformat"], original["nbformat_minor"])
    assert annotated["metadata"] == original["metadata"]
    students = [cell for cell in annotated["cells"] if not is_feedback_cell(cell)]
    assert students == original["cells"]
    for cell in original["cells"]:
        block = _cell_text(cell)
        assert block in original_text and block in text  # the same bytes, not only the same JSON


def test_the_finding_sits_right_after_its_cell_quoting_the_line_with_the_math_and_a_picture(mistaken):
    finding = next(e for e in mistaken.exercises if e.function == BACKWARD).findings[0]
    cells = annotate(mistaken).document["cells"]
    assert is_feedback_cell(cells[0]) and "15.42/16" in "".join(cells[0]["source"])
    position = next(i for i, cell in enumerate(cells) if "".join(cell["source"]) == "".join(
        json.loads(MISTAKE.read_text())["cells"][finding.location.cell]["source"]))
    feedback = cells[position + 1]
    source = "".join(feedback["source"])
    assert is_feedback_cell(feedback) and feedback["cell_type"] == "markdown"
    assert "Line 29 of the cell above" in source and finding.location.code in source
    assert f"$${finding.math}$$" in source and "grad.l2-sum-of-weights" in source
    (name, bundle), = feedback["attachments"].items()
    assert f"(attachment:{name})" in source
    svg = base64.b64decode(bundle["image/svg+xml"]).decode()
    assert svg.startswith("<svg") and "what lambd adds to dW1" in svg and "yours − expected" in svg


def test_the_heatmap_shows_a_term_that_is_one_number_in_every_entry(mistaken):
    comparison = next(e for e in mistaken.exercises if e.function == BACKWARD).findings[0].comparisons[0]
    assert comparison.output == "dW1" and comparison.title == "what lambd adds to dW1"
    assert len(set(comparison.got)) == 1 and len(set(comparison.expected)) > 1  # np.sum: the same number everywhere
    fills = re.findall(r'<rect x="\d+" y="\d+" width="\d+" height="\d+" fill="(#[0-9a-f]{6})"', heatmap_svg(comparison))
    size = comparison.shape[0] * comparison.shape[1]
    expected, yours = fills[:size], fills[size:2 * size]
    assert len(set(yours)) == 1 and len(set(expected)) > 1


def test_grading_the_annotated_copy_again_gives_the_same_result(grader, mistaken, tmp_path):
    copy = tmp_path / "annotated.ipynb"
    copy.write_text(notebook_text(annotate(mistaken).document))
    again = grader.grade(copy)
    assert (again.score, again.status) == (mistaken.score, mistaken.status)
    for first, second in zip(mistaken.exercises, again.exercises):
        assert (first.score, first.status) == (second.score, second.status)
        assert [c.passed for c in first.checks] == [c.passed for c in second.checks]
        for one, other in zip(first.findings, second.findings, strict=True):
            assert (one.id, one.outputs) == (other.id, other.outputs)
            if one.location is not None:
                # Code cells keep their number; their index moves by the feedback cells inserted before them.
                assert (one.location.code, one.location.line, one.location.code_cell) == (
                    other.location.code, other.location.line, other.location.code_cell)
                assert other.location.cell > one.location.cell
    twice = annotate(replace(again, path=str(copy))).document["cells"]
    assert len(twice) == len(annotate(mistaken).document["cells"])  # the old feedback cells are replaced


def test_an_older_minor_version_is_kept_and_its_cells_get_no_ids(grader, tmp_path):
    notebook = json.loads(MISTAKE.read_text())
    notebook["nbformat_minor"] = 4
    for cell in notebook["cells"]:
        cell.pop("id", None)
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(notebook, indent=1))
    document = annotate(grader.grade(path)).document
    assert document["nbformat_minor"] == 4 and not any("id" in cell for cell in document["cells"])
    nbformat.validate(nbformat.reads(notebook_text(document), as_version=4))


def test_an_nbformat_3_notebook_is_converted_and_annotated(grader, tmp_path):
    path = tmp_path / "v3.ipynb"
    nbformat.write(nbformat.convert(nbformat.read(MISTAKE, as_version=4), 3), str(path))
    assert "worksheets" in json.loads(path.read_text())
    result = grader.grade(path)
    document = annotate(result).document
    assert document["nbformat"] == 4
    nbformat.validate(nbformat.reads(notebook_text(document), as_version=4))
    assert sum(is_feedback_cell(cell) for cell in document["cells"]) == 2  # the summary and the np.sum finding


def test_a_python_file_and_an_unreadable_file_give_valid_notebooks(grader, tmp_path):
    script = tmp_path / "solution.py"
    script.write_text("".join(json.loads(MISTAKE.read_text())["cells"][11]["source"]) + "\n")
    garbage = tmp_path / "garbage.ipynb"
    garbage.write_bytes(b"\x00\xff not json")
    for path in (script, garbage):
        text = notebook_text(annotate(grader.grade(path)).document)
        nbformat.validate(nbformat.reads(text, as_version=4))
    assert "**unreadable**: not UTF-8 text" in text


def test_a_notebook_changed_since_it_was_graded_is_not_annotated(grader, tmp_path):
    path = tmp_path / "changing.ipynb"
    path.write_bytes(MISTAKE.read_bytes())
    result = grader.grade(path)
    path.write_text(MISTAKE.read_text().replace("np.sum(W1)", "np.sum(W1) "))
    with pytest.raises(Exception, match="changed after it was graded"):
        annotate(result)


def test_the_page_is_self_contained_and_shows_the_feedback_and_the_failing_line(mistaken):
    page = render("html", mistaken, "test")
    assert "<script" not in page.lower()
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page)
    assert not re.findall(r"url\((?!\s*['\"]?data:)", page)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count('class="jp-Cell jp-MarkdownCell jp-Notebook-cell grader-feedback') == 2
    highlighted = [re.sub(r"<[^>]+>", "", line) for line in page.splitlines() if line.startswith('<span class="hll">')]
    assert [line.strip() for line in highlighted] == ["dW1 = 1./m * np.dot(dZ1, X.T) + (lambd * np.sum(W1)) / m"]
    assert "data:image/svg+xml;base64," in page


def test_a_students_html_cannot_run_in_the_page(grader, tmp_path):
    notebook = json.loads(MISTAKE.read_text())
    notebook["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "id": "evil",
                                 "source": "<script>alert(1)</script><img src=x onerror=alert(2)>"
                                           "<meta http-equiv='refresh' content='0;url=http://example.invalid'>"})
    path = tmp_path / "hostile.ipynb"
    path.write_text(json.dumps(notebook))
    page = render("html", grader.grade(path), "test")
    assert "<script" not in page and "onerror" not in page and "<meta http-equiv='refresh'" not in page


# ---- --feedback ---------------------------------------------------------------------------


def _numbers(values) -> set[str]:
    """How a number may be written in feedback, for the numbers with three significant digits or more."""
    shown = set()
    for value in values:
        if not math.isfinite(value) or abs(value) < 1e-3:
            continue
        for text in (f"{value:.3g}", f"{value:.3f}", f"{value:.4g}"):
            if len(re.sub(r"^[-0.]+|[.e].*$" if "e" in text else r"^[-0.]+", "", text).replace(".", "")) >= 3:
                shown.add(text.lstrip("-"))
    return shown


def _probe_numbers(grader) -> set[str]:
    """Every number of the probes' inputs and of the reference's outputs (and of the part λ adds to them)."""
    import numpy as np

    def flat(value) -> list[float]:
        if isinstance(value, dict):
            return [x for item in value.values() for x in flat(item)]
        if isinstance(value, (list, tuple)):
            return [x for item in value for x in flat(item)]
        return np.ravel(np.asarray(value, dtype=float)).tolist()

    values = []
    for references in grader._references.values():
        for reference in references:
            values += flat(reference.probe.arguments)
            for name, expected in reference.expected.items():
                values += np.ravel(expected).tolist()
                if reference.baseline_expected is not None:
                    values += np.ravel(expected - reference.baseline_expected[name]).tolist()
    return _numbers(values)


def _leaked(forbidden: set[str], shown: str) -> set[str]:
    """The forbidden numbers that stand in `shown` as whole numbers (0.25 is not in 0.253 nor in 10.25)."""
    tokens = set()
    for digits, exponent in re.findall(r"(?<![\d.])-?(\d+(?:\.\d+)?)(e[-+]?\d+)?", shown):
        tokens.update((digits, digits + exponent))  # forbidden numbers are unsigned
    return forbidden & tokens


def _shown(result, level: str) -> str:
    """Everything each student format shows at `level`, pictures decoded."""
    texts = [render(name, result, "test", False, level) for name in ("text", "markdown", "gradescope", "notebook",
                                                                      "html")]
    pictures = [base64.b64decode(data).decode() for text in texts
                for data in re.findall(r'(?:data:image/svg\+xml;base64,|"image/svg\+xml": ")([A-Za-z0-9+/=]+)', text)]
    # Points ("1.67/2", or Gradescope's "score": 1.67) are the grade, and the page's stylesheet is ours: neither holds the probes' numbers.
    shown = re.sub(r"<style>.*?</style>", "", "\n".join(texts + pictures), flags=re.DOTALL)
    shown = re.sub(r'"(?:max_)?score": \d+(?:\.\d+)?', "", shown)  # Gradescope's points, as JSON numbers
    return re.sub(r"\d+(?:\.\d+)?/\d+(?:\.\d+)?", "", shown)


def test_hints_show_no_number_of_the_probes_or_the_reference(grader, mistaken):
    forbidden = _probe_numbers(grader)
    full = _shown(mistaken, "full")
    assert _leaked(forbidden, full), \
        "the full feedback shows the probes' numbers: the test below could not fail otherwise"
    hints = _shown(mistaken, "hints")
    leaked = _leaked(forbidden, hints)
    assert leaked == set()
    assert "what lambd adds to dW1" in hints and "Line 29 of the cell above" in hints  # the finding is still there
    assert "small fixed case" not in hints  # nor what the probes are


def test_hints_show_no_number_of_the_probes_for_dropout_findings_either(grader):
    """The dropout functions return a tuple with a cache and are judged on the student's own masks."""
    dropout = grader.grade(EXAMPLES / "dropout_mistakes.ipynb")
    ids = {finding.id for exercise in dropout.exercises for finding in exercise.findings}
    assert {"dropout.mask-from-randn", "dropout-backward.not-scaled"} <= ids
    forbidden = _probe_numbers(grader)

    def leaked(level: str) -> set[str]:
        shown = _shown(dropout, level)
        return _leaked(forbidden, shown)

    assert leaked("full"), "the full feedback shows the probes' numbers: the assertion below could not fail otherwise"
    assert leaked("hints") == set()


def test_score_shows_the_points_only(mistaken):
    text = render("text", mistaken, "test", False, "score")
    assert "6.42/7" in text and "15.42/16" in text
    assert "L2 term" not in text and "np.sum" not in text and "✓" not in text


def test_the_result_json_is_the_full_record_whatever_students_see(mistaken):
    assert render("json", mistaken, "test", False, "hints") == render("json", mistaken, "test")
    assert from_json(json.loads(render("json", mistaken, "test"))) == mistaken


def test_a_result_read_back_from_json_draws_the_same_pictures(mistaken):
    again = from_json(to_json(mistaken, "test"))
    assert render("notebook", again, "test") == render("notebook", mistaken, "test")
    assert for_audience(again, "hints") == for_audience(mistaken, "hints")


# ---- from the command line ----------------------------------------------------------------


def test_the_command_writes_pages_next_to_the_markdown_and_links_them(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader", str(MISTAKE), str(EXAMPLES / "correct.ipynb"),
                           "--out", str(out), "--format", "html", "--format", "notebook", "--feedback", "hints",
                           "--timeout", "3", "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1 or done.returncode == 0, done.stderr
    for name in ("np_sum_mistake", "correct"):
        assert (out / f"{name}.html").is_file() and (out / f"{name}.md").is_file()
        nbformat.validate(nbformat.read(out / f"{name}.feedback.ipynb", as_version=4))
    summary = (out / "summary.html").read_text()
    assert 'href="np_sum_mistake.html"' in summary and 'href="np_sum_mistake.feedback.ipynb"' in summary
    assert json.loads((out / "manifest.json").read_text())["feedback"] == "hints"
    assert json.loads((out / "correct.json").read_text())["grading"]["feedback"] == "hints"
    # Grading the folder again leaves the annotated copies out (they are not submissions).
    again = subprocess.run([sys.executable, "-m", "grader", str(out.parent), "--format", "json", "--timeout", "3"],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert again.returncode == 2 and "no notebooks" in again.stderr


def test_grading_one_notebook_imports_neither_nbconvert_nor_nbformat_nor_the_batch():
    script = ("import sys\nfrom grader.cli import main\nstatus = main([sys.argv[1], '--timeout', '3'])\n"
              "heavy = ('nbconvert', 'nbformat', 'matplotlib', 'bleach', 'pygments', 'grader.batch')\n"
              "print(sorted(name for name in sys.modules if name.split('.')[0] in heavy or name == 'grader.batch'"
              " or name.startswith('grader.batch.')), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script, str(MISTAKE)], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert "The L2 term is a number" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"
    page = subprocess.run([sys.executable, "-m", "grader", str(MISTAKE), "--format", "html", "--timeout", "3"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert page.stdout.startswith("<!DOCTYPE html>") and "grader-feedback" in page.stdout


def test_hints_show_no_input_a_students_error_message_carries(grader, notebook):
    leaking = notebook("import numpy as np\n\ndef backward_propagation_with_regularization(X, Y, cache, lambd):\n"
                       "    raise ValueError(np.array2string(cache[0], precision=6))\n")
    result = grader.grade(leaking)
    finding = next(e for e in result.exercises if e.function == BACKWARD).findings[0]
    assert finding.id == "exception" and "ValueError" in finding.explanation
    forbidden = _probe_numbers(grader)

    def leaked(level: str) -> set[str]:
        shown = _shown(result, level)
        return _leaked(forbidden, shown)

    assert leaked("full")  # the message shows the probe's Z1 at full (X is round numbers: too short to tell)
    assert leaked("hints") == set()


def test_resuming_at_another_feedback_level_rewrites_the_feedback(tmp_path):
    out = tmp_path / "out"

    def run(*extra: str) -> None:
        done = subprocess.run([sys.executable, "-m", "grader", str(MISTAKE), "--out", str(out), "--timeout", "3",
                               "--quiet", *extra], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert done.returncode == 0, done.stderr

    run()
    assert "What the numbers show" in (out / "np_sum_mistake.md").read_text()
    run("--resume", "--feedback", "hints")
    hints = (out / "np_sum_mistake.md").read_text()
    assert "What the numbers show" not in hints and "The L2 term is a number" in hints
