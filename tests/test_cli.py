"""End to end: the `grade` command on every example submission, as a user runs it."""
from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BACKWARD, COST, EXAMPLES, ROOT, write_notebook

TIMEOUT = "3"  # seconds per graded function: keeps the infinite-loop example quick


def grade(*arguments: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *arguments, "--timeout", TIMEOUT],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=120)


def grade_json(path, *arguments: str) -> dict:
    done = grade(str(path), "--format", "json", *arguments)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def exercise(result: dict, function: str) -> dict:
    return next(e for e in result["exercises"] if e["function"] == function)



# example → {function: (status, finding ids)}
FORWARD, DROPOUT_BACKWARD = "forward_propagation_with_dropout", "backward_propagation_with_dropout"
DROPOUT_RIGHT = {FORWARD: ("passed", []), DROPOUT_BACKWARD: ("passed", [])}
L2_RIGHT = {COST: ("passed", []), BACKWARD: ("passed", [])}
EXPECTED = {
    "correct": {**L2_RIGHT, **DROPOUT_RIGHT},
    "correct_equivalent": {**L2_RIGHT, **DROPOUT_RIGHT},
    "np_sum_mistake": {COST: ("passed", []), BACKWARD: ("failed", ["grad.l2-sum-of-weights"]), **DROPOUT_RIGHT},
    "incomplete": {COST: ("error", ["not-implemented"]), BACKWARD: ("error", ["not-implemented"]),
                   FORWARD: ("error", ["not-implemented"]), DROPOUT_BACKWARD: ("error", ["not-implemented"])},
    "syntax_error": {COST: ("error", ["syntax-error"]), BACKWARD: ("passed", []), **DROPOUT_RIGHT},
    "infinite_loop": {COST: ("passed", []), BACKWARD: ("error", ["timeout"]), **DROPOUT_RIGHT},
    "uses_global": {COST: ("passed", []), BACKWARD: ("error", ["uses-notebook-global"]), **DROPOUT_RIGHT},
    "mutates_inputs": {COST: ("failed", ["mutates-inputs"]), BACKWARD: ("passed", []), **DROPOUT_RIGHT},
    "dropout_mistakes": {**L2_RIGHT, FORWARD: ("failed", ["dropout.mask-from-randn"]),
                         DROPOUT_BACKWARD: ("failed", ["dropout-backward.not-scaled"])},
    "dropout_other_draws": {**L2_RIGHT, **DROPOUT_RIGHT},
}


@pytest.fixture(scope="session")
def graded_examples() -> dict[str, dict]:
    """Every example graded once, as one command would (the endless loop costs one timeout, not one per test)."""
    done = grade(str(EXAMPLES), "--format", "json")
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    return {Path(result["submission"]["path"]).stem: result for result in results}


def test_a_folder_argument_grades_every_notebook_once(graded_examples):
    assert set(graded_examples) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_example_gets_its_expected_grade_and_findings(graded_examples, name):
    result = graded_examples[name]
    for function, (status, finding_ids) in EXPECTED[name].items():
        graded = exercise(result, function)
        assert graded["status"] == status, graded
        assert [finding["id"] for finding in graded["findings"]] == finding_ids, graded["findings"]
        if status == "passed":
            assert graded["score"] == graded["max_score"]
        else:
            assert graded["score"] < graded["max_score"]


def test_examples_cover_every_notebook_in_the_folder():
    assert {path.stem for path in EXAMPLES.glob("*.ipynb")} == set(EXPECTED)


def test_np_sum_mistake_names_dw1_its_line_and_the_math():
    finding = exercise(grade_json(EXAMPLES / "np_sum_mistake.ipynb"), BACKWARD)["findings"][0]
    assert finding["outputs"] == ["dW1"]
    assert "np.sum(W1)" in finding["location"]["code"] and finding["location"]["code"].startswith("dW1")
    notebook = json.loads((EXAMPLES / "np_sum_mistake.ipynb").read_text())
    cell_source = "".join(notebook["cells"][finding["location"]["cell"]]["source"]).splitlines()
    assert cell_source[finding["location"]["line"] - 1].strip() == finding["location"]["code"]
    assert "(λ/m)·ΣW1" in finding["evidence"]
    assert "Tr(WᵀW)" in finding["explanation"] and "(lambd / m) * W1" in finding["fix"]


def test_findings_point_at_the_students_own_lines(graded_examples):
    for name, fragment in [("incomplete", "None"), ("uses_global", "m"), ("infinite_loop", "while"),
                           ("mutates_inputs", "**=")]:
        result = graded_examples[name]
        locations = [f["location"] for e in result["exercises"] for f in e["findings"] if f["location"]]
        assert locations and any(fragment in location["code"] for location in locations), (name, locations)


def test_json_follows_the_result_contract():
    result = grade_json(EXAMPLES / "np_sum_mistake.ipynb")
    assert result["schema"] == "grader.result/1"
    assert set(result) >= {"schema", "grader_version", "submission", "assignment", "score", "max_score", "status",
                           "exercises", "errors"}
    assert set(result["submission"]) == {"path", "sha256"} and len(result["submission"]["sha256"]) == 64
    assert result["assignment"]["name"] == "regularization"
    assert result["status"] in ("passed", "failed", "error")
    assert result["score"] == pytest.approx(sum(e["score"] for e in result["exercises"]))
    for graded in result["exercises"]:
        assert set(graded) >= {"function", "score", "max_score", "status", "checks", "findings"}
        assert graded["status"] in ("passed", "failed", "error", "missing")
        assert graded["score"] == pytest.approx(sum(c["score"] for c in graded["checks"]))
        assert graded["max_score"] == pytest.approx(sum(c["max_score"] for c in graded["checks"]))
        for check in graded["checks"]:
            assert set(check) == {"name", "passed", "score", "max_score", "message"}
        for finding in graded["findings"]:
            assert set(finding) >= {"id", "title", "outputs", "location", "evidence", "explanation", "fix"}
            if finding["location"] is not None:
                assert set(finding["location"]) == {"cell", "line", "code", "code_cell", "execution_count",
                                                    "cell_first_line"}


def test_training_cells_never_run(tmp_path):
    done = grade(str(EXAMPLES / "correct.ipynb"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "TRAINING_RAN").exists()
    assert not list(tmp_path.iterdir())


def test_exit_codes_follow_min_score(tmp_path):
    assert grade(str(EXAMPLES / "np_sum_mistake.ipynb"), "--min-score", "100%").returncode == 1
    assert grade(str(EXAMPLES / "np_sum_mistake.ipynb"), "--min-score", "15").returncode == 0
    assert grade(str(EXAMPLES / "correct.ipynb"), "--min-score", "16").returncode == 0
    assert grade(str(EXAMPLES / "correct.ipynb"), "--min-score", "lots").returncode == 2


def test_usage_and_spec_errors_exit_2(tmp_path):
    assert grade(str(tmp_path / "absent.ipynb")).returncode == 2
    assert grade(str(EXAMPLES / "correct.ipynb"), "--assignment", "nonexistent").returncode == 2
    (tmp_path / "assignment.yaml").write_text("name: broken\n")
    done = grade(str(EXAMPLES / "correct.ipynb"), "--assignment", str(tmp_path))
    assert done.returncode == 2 and "missing required key" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("arguments", "message"), [
    (["--verbose"], "--verbose only goes with --version"),
    (["--timeout", "601"], "--timeout must be at most 600 seconds"),
    (["--timeout", "inf"], "--timeout must be at most 600 seconds"),
    (["--min-score", "16.5"], "--min-score 16.5 is above the maximum score (16)"),
    (["--min-score", "-1"], "--min-score must be between 0 and the maximum"),
    (["--min-score", "101%"], "--min-score must be between 0 and 100%"),
    (["--assignment", "{tmp}"], "has no assignment.yaml, so it is not an assignment"),
])
def test_options_that_cannot_mean_anything_exit_2_and_say_why(tmp_path, arguments, message):
    arguments = [argument.replace("{tmp}", str(tmp_path)) for argument in arguments]
    done = subprocess.run([sys.executable, "-m", "grader", str(EXAMPLES / "correct.ipynb"), *arguments],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and message in done.stderr and done.stdout == "", done.stderr


@pytest.mark.parametrize("content", [b"", b"\x00\xff garbage", b'{"cells": "no"}', b"[]"])
def test_garbage_notebook_is_a_graded_error_not_a_crash(tmp_path, content):
    path = tmp_path / "garbage.ipynb"
    path.write_bytes(content)
    done = grade(str(path), "--format", "json", "--assignment", "regularization")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "error" and result["score"] == 0
    assert result["errors"][0]["kind"] == "unreadable" and result["errors"][0]["message"]
    # Without --assignment, nothing in it says which built-in assignment it is: a usage error that says so.
    done = grade(str(path), "--format", "json")
    assert done.returncode == 2 and "give --assignment NAME" in done.stderr and "Traceback" not in done.stderr


def test_notebook_without_the_functions_is_missing_with_near_misses(tmp_path):
    path = write_notebook(tmp_path / "renamed.ipynb", "import numpy as np",
                          "def compute_cost_with_regularisation(A3, Y, parameters, lambd):\n    return 0.0")
    result = grade_json(path, "--assignment", "regularization")  # no function of any assignment: it must be named
    cost = exercise(result, COST)
    assert cost["status"] == "missing"
    assert cost["findings"][0]["id"] == "function-not-found"
    assert "compute_cost_with_regularisation" in cost["findings"][0]["explanation"]
    assert exercise(result, BACKWARD)["status"] == "missing"


def test_a_notebook_of_another_assignment_is_an_error_that_says_what_it_defines(tmp_path):
    path = write_notebook(tmp_path / "init.ipynb", "import numpy as np",
                          "def initialize_parameters_he(layers_dims):\n    return {}",
                          "def model(X, Y):\n    pass")
    named = ("--assignment", "regularization")  # with two built-in assignments, it cannot be guessed
    result = grade_json(path, *named)  # exit 0: a graded result, not a grader failure
    assert result["status"] == "error" and result["score"] == 0
    assert [error["kind"] for error in result["errors"]] == ["no-graded-function"]
    message = result["errors"][0]["message"]
    assert "no function of assignment 'regularization' is defined here" in message
    assert message.endswith("found: initialize_parameters_he, model") and COST in message
    assert grade(str(path), "--min-score", "1", *named).returncode == 1
    text = grade(str(path), *named).stdout
    assert "0/16 — error" in text and "initialize_parameters_he" in text


def test_python_file_submission(tmp_path):
    notebook = json.loads((EXAMPLES / "correct.ipynb").read_text())
    graded_cells = ["".join(cell["source"]) for cell in notebook["cells"]
                    if cell["cell_type"] == "code" and "GRADED FUNCTION" in "".join(cell["source"])]
    path = tmp_path / "answer.py"
    path.write_text("import numpy as np\nfrom reg_utils import compute_cost, relu, sigmoid\n\n" + "\n\n".join(graded_cells))
    assert grade_json(path)["score"] == 16


def test_several_submissions_give_json_lines_and_out_writes_files(tmp_path):
    done = grade(str(EXAMPLES / "correct.ipynb"), str(EXAMPLES / "np_sum_mistake.ipynb"), "--format", "json")
    lines = done.stdout.splitlines()
    assert [json.loads(line)["score"] for line in lines] == [16, pytest.approx(15.42, abs=0.01)]
    out = tmp_path / "out"
    done = grade(str(EXAMPLES / "np_sum_mistake.ipynb"), "--format", "json", "--format", "markdown", "--out", str(out))
    assert done.returncode == 0 and done.stdout == ""
    assert json.loads((out / "np_sum_mistake.json").read_text())["status"] == "failed"
    assert "grad.l2-sum-of-weights" in (out / "np_sum_mistake.md").read_text()


def test_console_script_and_module_agree():
    script = Path(sys.executable).with_name("grade")
    if not script.exists():
        pytest.skip("the grade command is not installed next to this Python")
    via_script = subprocess.run([str(script), str(EXAMPLES / "np_sum_mistake.ipynb"), "--format", "json"],
                                capture_output=True, text=True, timeout=60)
    via_module = grade(str(EXAMPLES / "np_sum_mistake.ipynb"), "--format", "json")
    strip = lambda text: {k: v for k, v in json.loads(text).items() if k != "submission"}  # noqa: E731
    assert strip(via_script.stdout) == strip(via_module.stdout)


def test_version_verbose_and_result_say_which_sandbox_layers_are_in_force():
    done = subprocess.run([sys.executable, "-m", "grader", "--version", "--verbose"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("grade ")
    in_force = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("+ ")]
    details = {line.split(None, 2)[1]: line.split(None, 2)[2] for line in done.stdout.splitlines()[1:]}
    assert "clean-worker" in in_force and "rlimits" in in_force
    result = grade_json(EXAMPLES / "correct.ipynb")
    assert result["sandbox"] == in_force
    # Which user the student's code ran as, and why: the same line as the table's.
    assert result["sandbox_user"] == details["unprivileged-user"]


def test_no_path_is_a_usage_error():
    done = subprocess.run([sys.executable, "-m", "grader"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "at least one" in done.stderr


def _on_a_terminal(*arguments: str, environment: dict[str, str]) -> str:
    """What `grade` prints to standard output when it is a terminal."""
    leader, follower = pty.openpty()
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"} | environment
    with subprocess.Popen([sys.executable, "-m", "grader", *arguments, "--timeout", TIMEOUT], stdout=follower,
                          stderr=subprocess.DEVNULL, cwd=ROOT, env=env) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("paths", [["correct.ipynb"], ["correct.ipynb", "np_sum_mistake.ipynb"]])
def test_colour_on_a_terminal_unless_no_color_is_set_and_not_empty(paths):
    arguments = [str(EXAMPLES / path) for path in paths]
    assert "\033[" in _on_a_terminal(*arguments, environment={})
    assert "\033[" in _on_a_terminal(*arguments, environment={"NO_COLOR": ""})  # empty: as if unset (no-color.org)
    assert "\033[" not in _on_a_terminal(*arguments, environment={"NO_COLOR": "1"})


def test_the_readme_shows_what_grade_prints_for_the_np_sum_example():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## What the student reads"):]
    sample = section[section.index("```\n") + 4:section.index("\n```", section.index("```\n"))] + "\n"
    done = subprocess.run([sys.executable, "-m", "grader", "submissions_example/np_sum_mistake.ipynb"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout == sample, "regenerate README's sample: grade submissions_example/np_sum_mistake.ipynb"


@pytest.mark.parametrize("paths", [1, 2], ids=["one notebook", "a batch"])
def test_the_detected_assignment_is_named_on_stderr_unless_quiet(tmp_path, paths):
    for index in range(paths):
        (tmp_path / f"n{index}.ipynb").write_bytes((EXAMPLES / "correct.ipynb").read_bytes())
    arguments = [str(tmp_path / f"n{index}.ipynb") for index in range(paths)] + ["--format", "json"]
    assert "grading as regularization: it defines" in grade(*arguments).stderr
    quiet = grade(*arguments, "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
