"""Class reports from results built in memory: the gradebook, the Markdown summary and the HTML charts."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from html.parser import HTMLParser

from grader.batch.charts import column_chart
from grader.batch.outdir import AssignmentInfo, ExerciseInfo
from grader.batch.reports import ClassReport
from grader.records import CheckResult, ExerciseResult, Finding, Location, SubmissionResult
from grader.scoring import GRADER_FAILURE

INFO = AssignmentInfo("regularization", "Regularization", "0" * 64,
                      (ExerciseInfo("cost", "Cost", 3.0), ExerciseInfo("backward", "Backward", 7.0)))


def finding(mistake_id: str | None, title: str = "a mistake") -> Finding:
    return Finding(id=mistake_id, title=title, outputs=("dW1",), location=Location(3, 2, "dW1 = ..."),
                   evidence="the numbers", explanation="the math", fix="the fix")


def exercise(function: str, score: float, maximum: float, status: str, *findings: Finding) -> ExerciseResult:
    checks = (CheckResult("first check", status == "passed", score, maximum, "a message"),)
    return ExerciseResult(function, function.title(), score, maximum, status, checks, findings)


def result(path: str, cost: float = 3, backward: float = 7, cost_findings=(), backward_findings=(),
           errors=()) -> SubmissionResult:
    exercises = (exercise("cost", cost, 3, "passed" if cost == 3 else "failed", *cost_findings),
                 exercise("backward", backward, 7, "passed" if backward == 7 else "failed", *backward_findings))
    status = "passed" if cost + backward == 10 else "failed"
    return SubmissionResult(path, "f" * 64, "regularization", "Regularization", cost + backward, 10.0, status,
                            exercises, tuple(errors))


def class_report() -> ClassReport:
    report = ClassReport(INFO)
    report.add("alice", result("subs/alice.ipynb"))
    report.add("bob", result("subs/bob.ipynb", backward=6.42, backward_findings=[finding("grad.l2-sum-of-weights")]))
    report.add("carol", result("subs/carol.ipynb", cost=0, backward=6.42,
                               cost_findings=[finding("not-implemented"), finding("not-implemented")],
                               backward_findings=[finding("grad.l2-sum-of-weights"), finding(None, "dW2 is off")]))
    report.add("=HYPERLINK(1)", result("subs/=HYPERLINK(1).ipynb", cost=0, backward=0,
                                       errors=[(GRADER_FAILURE, "the grading process died")]))
    return report


def test_gradebook_has_one_row_per_submission_with_scores_and_finding_ids():
    rows = list(csv.reader(io.StringIO(class_report().grades_csv())))
    assert rows[0] == ["id", "path", "score", "max_score", "status", "cost", "backward", "findings"]
    assert rows[1] == ["alice", "subs/alice.ipynb", "10", "10", "passed", "3", "7", ""]
    assert rows[2] == ["bob", "subs/bob.ipynb", "9.42", "10", "failed", "3", "6.42", "grad.l2-sum-of-weights"]
    assert rows[3][7] == "not-implemented grad.l2-sum-of-weights generic"  # each once, generic findings named so
    assert rows[4][0].startswith("'=") and rows[4][1].startswith("subs/")  # a file name is never a formula
    assert rows[4][4] == GRADER_FAILURE


def test_summary_counts_each_mistake_once_per_submission_and_leaves_grader_failures_out_of_the_rates():
    text = class_report().summary_markdown()
    assert "4 submissions · mean 8.61/10 · median 9.42" in text and "1 not graded (grader failures)" in text
    assert "| `grad.l2-sum-of-weights` a mistake | `backward` | 2 | 50% |" in text
    assert "| `not-implemented` a mistake | `cost` | 1 | 25% |" in text
    assert "*(no catalogue entry)* dW2 is off" in text
    assert "| `cost` | 2 (67%) | 1 | 0 | 0 | 2/3 |" in text  # of the three graded submissions
    for row in ("| [9, 10) | 1 |", "| [6, 7) | 1 |", "| 10 (full marks) | 1 |", "| [0, 1) | 0 |"):
        assert row in text
    assert "## Not graded (the grader failed)" in text and "the grading process died" in text


def test_summary_of_the_same_results_is_the_same_bytes():
    assert class_report().summary_markdown() == class_report().summary_markdown()
    assert class_report().summary_html() == class_report().summary_html()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_html_summary_draws_charts_inline_and_escapes_what_students_control():
    report = ClassReport(INFO)
    report.add("<img src=x onerror=alert(1)>", result("<script>.ipynb", backward=6,
                                                      backward_findings=[finding(None, "<b>dW1</b> is off")]))
    page = report.summary_html()
    parser = _Tags()
    parser.feed(page)
    assert parser.tags.count("svg") == 4  # scores, exercises, checks, mistakes
    assert "script" not in parser.tags and "img" not in parser.tags and "b" not in parser.tags
    assert "&lt;b&gt;dW1&lt;/b&gt; is off" in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing loaded from anywhere


def test_an_empty_class_still_renders():
    report = ClassReport(INFO)
    assert "0 submissions, none graded" in report.summary_markdown()
    assert report.grades_csv().count("\n") == 1
    assert "<svg" in report.summary_html()


def _svgs(page: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", page, re.DOTALL)


def test_html_mistake_bars_are_scaled_to_the_class_like_the_check_bars():
    report = ClassReport(INFO)
    report.add("bob", result("bob.ipynb", backward=6.42, backward_findings=[finding("grad.l2-sum-of-weights")]))
    for number in range(7):
        report.add(f"student{number}", result(f"student{number}.ipynb"))
    mistakes = _svgs(report.summary_html())[3]
    widths = [float(width) for width in re.findall(r'<rect x="[\d.]+" y="\d+" width="([\d.]+)" height="12" '
                                                   r'fill="#c62828">', mistakes)]
    assert widths == [600 / 8]  # one student in eight: an eighth of the bar, not all of it
    assert "1 (12%)" in mistakes


def test_checks_of_a_function_that_never_returned_are_not_run_not_failed():
    report = ClassReport(INFO)
    report.add("alice", result("alice.ipynb"))
    never_returned = result("bob.ipynb", cost=0)
    crashed = ExerciseResult("cost", "Cost", 0.0, 3.0, "error",
                             (CheckResult("first check", False, 0.0, 3.0, "not checked: it raised"),), ())
    report.add("bob", replace(never_returned, exercises=(crashed, *never_returned.exercises[1:])))
    report.add("carol", result("carol.ipynb", cost=1))  # ran, and failed
    assert "| `cost` | first check | 33% (1/3) | 1 | 1 |" in report.summary_markdown()
    checks = _svgs(report.summary_html())[2]
    assert "<title>not run: 1</title>" in checks and "<title>failed: 1</title>" in checks
    assert "33% (1/3), 1 not run" in checks


def test_html_lists_every_submission_with_links_to_its_own_feedback_files():
    page = class_report().summary_html([".md", ".json"])
    table = page[page.index("<h2>Submissions</h2>"):].split("</table>")[0]
    rows = re.findall(r"<tr><td>.*?</tr>", table)
    assert len(rows) == 4
    assert '<code>bob</code>' in rows[1] and "9.42/10" in rows[1] and "<td>failed</td>" in rows[1]
    assert "<code>grad.l2-sum-of-weights</code>" in rows[1]
    assert '<a href="bob.md">md</a> · <a href="bob.json">json</a>' in rows[1]
    assert GRADER_FAILURE in rows[3] and 'href="%3DHYPERLINK%281%29.md"' in rows[3]
    report = ClassReport(INFO)
    report.add("section a/Ünïcode #1", result("x.ipynb"))
    assert 'href="section%20a/%C3%9Cn%C3%AFcode%20%231.md"' in report.summary_html([".md"])
    assert "<th>feedback</th>" not in report.summary_html()  # no files written next to it: no links


def test_html_long_labels_wrap_instead_of_being_cut():
    title = "dW2 differs " + "on a long list of probes and outputs " * 6 + "END"
    report = ClassReport(INFO)
    report.add("bob", result("bob.ipynb", backward=6, backward_findings=[finding(None, title)]))
    mistakes = _svgs(report.summary_html())[3]
    shown = " ".join(re.findall(r"<tspan[^>]*>(.*?)</tspan>", mistakes))
    assert len(re.findall("<tspan", mistakes)) == 3
    assert shown == f"(no catalogue entry) — {title} (backward)"


def test_neighbouring_bin_labels_of_the_score_chart_are_on_different_lines():
    """'[11.2, 12.8)' is wider than its bar: side by side, neighbours would overlap."""
    svg = column_chart([(f"[{i}.6, {i + 1}.2)", i) for i in range(10)])
    labels = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="middle">\[', svg)
    assert len(labels) == 10
    assert all(first[1] != second[1] for first, second in zip(labels, labels[1:]))
