"""What CI tools read: JUnit XML, Gradescope's results.json, the GitHub job summary."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import replace

from test_reports import INFO, class_report, finding, result

from grader.batch.github import append_github_summary, github_summary
from grader.batch.reports import ClassReport
from grader.feedback.gradescope import gradescope_results
from grader.feedback.junit import JUnitReport
from grader.records import Location
from grader.scoring import GRADER_FAILURE

from conftest import EXAMPLES, ROOT


def grade(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *arguments, "--timeout", "3"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, env=env)


def junit_of(*results) -> ElementTree.Element:
    report = JUnitReport("grade: Regularization")
    for number, graded in enumerate(results):
        report.add(f"student-{number}", graded)
    return ElementTree.fromstring(report.xml())


def test_junit_has_one_testcase_per_submission_and_exercise_and_failures_carry_the_feedback():
    mistaken = finding("grad.l2-sum-of-weights", "The L2 term is a number")
    root = junit_of(result("a.ipynb"), result("b.ipynb", backward=6.42, backward_findings=[mistaken]),
                    result("c.ipynb", cost=0, backward=0, errors=[(GRADER_FAILURE, "the grading process died")]))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "1", "2")
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == ["student-0", "student-1", "student-2"]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 6 and {case.get("name") for case in cases} == {"cost", "backward"}
    failure = suites[1].find("testcase[@name='backward']/failure")
    assert failure is not None and "6.42/7 points" in failure.get("message")
    assert "[grad.l2-sum-of-weights] The L2 term is a number" in failure.text and "Fix: the fix" in failure.text
    assert suites[2].find("testcase/error").get("type") == GRADER_FAILURE
    assert suites[0].find("testcase/failure") is None


def test_junit_survives_characters_xml_cannot_hold():
    hostile = replace(finding(None, "bad \x00 title \x1b[31m"), location=Location(1, 1, "x = '\x01\x02'"))
    root = junit_of(result("bad\x07.ipynb", backward=0, backward_findings=[hostile]))
    assert "\ufffd" in root.find("testsuite/testcase/failure").text


def test_gradescope_results_have_the_documented_fields():
    graded = result("b.ipynb", backward=6.42, backward_findings=[finding("grad.l2-sum-of-weights")])
    document = json.loads(json.dumps(gradescope_results(graded)))
    assert document["score"] == 9.42 and isinstance(document["tests"], list)
    assert sum(test["score"] for test in document["tests"]) == document["score"]
    for test in document["tests"]:
        assert {"score", "max_score", "status", "name", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed") and test["visibility"] == "visible"
    assert [test["status"] for test in document["tests"]] == ["passed", "failed"]
    assert "grad.l2-sum-of-weights" in document["tests"][1]["output"]


def test_github_summary_is_the_feedback_for_one_and_the_class_summary_for_many(tmp_path, monkeypatch):
    one = ClassReport(INFO)
    single = result("a.ipynb", backward=6.42, backward_findings=[finding("grad.l2-sum-of-weights")])
    one.add("a", single)
    assert "grad.l2-sum-of-weights" in github_summary(one, single)
    many = github_summary(class_report())
    assert "class summary" in many and "## Grades" in many and "`bob`" in many
    target = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    assert append_github_summary("first") and append_github_summary("second\n")
    assert target.read_text() == "first\nsecond\n"
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert not append_github_summary("third")


def test_github_summary_stays_under_githubs_limit():
    report = ClassReport(INFO)
    for number in range(3000):
        report.add(f"{'x' * 400}-{number}", result(f"{number}.ipynb", backward=0,
                                                   backward_findings=[finding(None, f"{'y' * 300} {number}")]))
    assert len(github_summary(report).encode()) <= 1 << 20


# ---- through the command line -----------------------------------------------------------------


def test_cli_appends_a_job_summary_and_prints_junit_and_gradescope(tmp_path):
    summary = tmp_path / "step-summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    done = grade(str(EXAMPLES / "np_sum_mistake.ipynb"), "--format", "gradescope", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["score"] == 15.42  # exactly what run_autograder puts in results.json
    assert "grad.l2-sum-of-weights" in summary.read_text()
    done = grade(str(EXAMPLES / "correct.ipynb"), str(EXAMPLES / "np_sum_mistake.ipynb"), "--format", "junit",
                 "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    root = ElementTree.fromstring(done.stdout)
    assert (root.get("tests"), root.get("failures")) == ("8", "1")
    assert summary.read_text().count("class summary") == 1


def test_cli_writes_results_json_for_one_submission(tmp_path):
    out = tmp_path / "results"
    done = grade(str(EXAMPLES / "correct.ipynb"), "--format", "gradescope", "--out", str(out),
                 env={key: value for key, value in os.environ.items() if key != "GITHUB_STEP_SUMMARY"})
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "results.json").read_text())["score"] == 16
    assert (out / "correct.gradescope.json").read_text() == (out / "results.json").read_text()
