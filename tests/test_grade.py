"""The pipeline in process: diagnosis of mistakes written into notebooks, and checks that can fail."""
from __future__ import annotations

import json
import shutil

import pytest

from grader.assignment.catalog import builtin_assignments_folder
from grader.feedback.result_json import to_json
from grader.grade import Grader
from grader.records import Limits

from conftest import BACKWARD, COST, EXAMPLES, write_notebook


def graded_cells(name: str) -> dict[str, str]:
    """The graded-function cells of an example notebook, by function name."""
    notebook = json.loads((EXAMPLES / f"{name}.ipynb").read_text())
    cells = {}
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        for function in (COST, BACKWARD):
            if cell["cell_type"] == "code" and f"def {function}(" in source:
                cells[function] = source
    return cells


CORRECT = graded_cells("correct")
IMPORTS = "import numpy as np\nfrom reg_utils import compute_cost, relu, sigmoid\n%matplotlib inline"


def backward_with(tmp_path, old: str, new: str):
    """A notebook whose correct backward has `old` replaced by `new` (which must occur once)."""
    assert CORRECT[BACKWARD].count(old) == 1, old
    return write_notebook(tmp_path / "student.ipynb", IMPORTS, CORRECT[COST], CORRECT[BACKWARD].replace(old, new))


def exercise(result, function):
    return next(e for e in result.exercises if e.function == function)


DW1_CORRECT = "dW1 = 1./m * np.dot(dZ1, X.T) + lambd / m * W1"
DW2_CORRECT = "dW2 = 1./m * np.dot(dZ2, A1.T) + lambd / m * W2"


def test_example_lines_used_below_exist():
    assert DW1_CORRECT in CORRECT[BACKWARD] and DW2_CORRECT in CORRECT[BACKWARD]


@pytest.mark.parametrize(
    ("old", "new", "output"),
    [
        (DW1_CORRECT, "dW1 = 1./m * np.dot(dZ1, X.T) + (lambd * np.sum(W1)) / m", "dW1"),
        (DW1_CORRECT, "dW1 = 1./m * np.dot(dZ1, X.T) + lambd / m * W1.sum()", "dW1"),
        (DW1_CORRECT, "dW1 = 1./m * np.dot(dZ1, X.T) + lambd / m * np.linalg.norm(W1)", "dW1"),
        (DW2_CORRECT, "reg = lambd * sum(sum(W2)) / m\n    dW2 = np.dot(dZ2, A1.T) / m + reg", "dW2"),
    ],
)
def test_sum_of_weights_is_recognised_in_any_spelling(grader, tmp_path, old, new, output):
    result = grader.grade(backward_with(tmp_path, old, new))
    graded = exercise(result, BACKWARD)
    assert [(f.id, f.outputs) for f in graded.findings] == [("grad.l2-sum-of-weights", (output,))]
    # The line that builds the penalty term, following a helper variable when there is one.
    code = graded.findings[0].location.code
    assert f"W{output[-1]}" in code and ("sum" in code or "norm" in code)
    assert graded.score < graded.max_score


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (DW1_CORRECT, "dW1 = (1/m) * (dZ1 @ X.T + lambd * W1)"),
        (DW1_CORRECT, "dW1 = np.dot(dZ1, X.T) / m + np.multiply(lambd / m, W1)"),
        (DW2_CORRECT, "dW2 = (np.dot(dZ2, A1.T) + lambd * W2) / m"),
    ],
)
def test_equivalent_forms_get_full_marks_and_no_findings(grader, tmp_path, old, new):
    graded = exercise(grader.grade(backward_with(tmp_path, old, new)), BACKWARD)
    assert graded.status == "passed" and graded.findings == ()


def test_backprop_mistake_is_blamed_once_where_the_chain_first_goes_wrong(grader, tmp_path):
    # The relu derivative of layer 2 is dropped: dZ2 is wrong, and dW2, db2, dA1, dZ1, dW1, db1 with it.
    line = next(line.strip() for line in CORRECT[BACKWARD].splitlines() if line.strip().startswith("dZ2 ="))
    graded = exercise(grader.grade(backward_with(tmp_path, line, "dZ2 = dA2")), BACKWARD)
    assert len(graded.findings) == 1
    finding = graded.findings[0]
    assert finding.id == "grad.backprop-error" and finding.outputs[0] == "dZ2"
    assert set(finding.outputs) == {"dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"}
    assert finding.location.code == "dZ2 = dA2"
    assert "even when lambd = 0" in finding.evidence


def test_unexplained_penalty_error_is_described_without_a_catalog_id(grader, tmp_path):
    # (λ/m)·(W1 + 1): no catalog entry produces this; the grader must describe, not accuse.
    graded = exercise(grader.grade(backward_with(tmp_path, DW1_CORRECT, "dW1 = 1./m * np.dot(dZ1, X.T) + lambd / m * (W1 + 1)")),
                      BACKWARD)
    assert [f.id for f in graded.findings] == [None]
    assert graded.findings[0].outputs == ("dW1",)
    assert "right when lambd = 0" in graded.findings[0].evidence
    assert "same constant" in graded.findings[0].evidence


def test_missing_keys_are_named(grader, tmp_path):
    notebook = backward_with(tmp_path, '"dZ3": dZ3, ', "")
    graded = exercise(grader.grade(notebook), BACKWARD)
    assert ("grad.missing-keys", ("dZ3",)) in [(f.id, f.outputs) for f in graded.findings]
    assert not graded.checks[0].passed


def test_a_mutated_reference_turns_the_correct_example_red(tmp_path):
    folder = tmp_path / "regularization"
    shutil.copytree(builtin_assignments_folder() / "regularization", folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    solution = folder / "solution.py"
    text = solution.read_text()
    assert text.count("lambd / m * W") == 3
    # Double the reference's penalty in the gradient: the student's correct code must now fail.
    solution.write_text(text.replace("lambd / m * W", "2 * lambd / m * W"))
    with Grader(str(folder), Limits(wall_seconds=3)) as mutated:
        result = mutated.grade(EXAMPLES / "correct.ipynb")
    graded = exercise(result, BACKWARD)
    assert graded.status == "failed"
    assert not next(c for c in graded.checks if "L2 term" in c.name).passed
    # The numerical gradient comes from the reference *cost*, untouched here: it still agrees with the student.
    assert next(c for c in graded.checks if "gradient" in c.name).passed


def test_results_are_deterministic(grader):
    first = grader.grade(EXAMPLES / "np_sum_mistake.ipynb")
    second = grader.grade(EXAMPLES / "np_sum_mistake.ipynb")
    assert first == second


def test_template_line_left_as_comment_is_not_implemented_at_that_line(grader, tmp_path):
    line = next(line.strip() for line in CORRECT[BACKWARD].splitlines() if line.strip().startswith("dW3 ="))
    graded = exercise(grader.grade(backward_with(tmp_path, line, "# dW3 = 1./m * np.dot(dZ3, A2.T) + None")), BACKWARD)
    assert [f.id for f in graded.findings] == ["not-implemented"]
    assert graded.findings[0].location.code.startswith("# dW3 =")
    assert graded.status == "error" and graded.score == 0


def test_non_finite_outputs_are_named(grader, tmp_path):
    graded = exercise(grader.grade(backward_with(tmp_path, DW1_CORRECT, "dW1 = 1./m * np.dot(dZ1, X.T) + lambd / m * W1 / 0")),
                      BACKWARD)
    assert [(f.id, f.outputs) for f in graded.findings] == [("nan-or-inf", ("dW1",))]
    assert "dW1" in graded.findings[0].explanation and graded.findings[0].location.code.startswith("dW1")


def test_a_submission_started_before_the_last_one_finished_grades_the_same(grader, tmp_path):
    paths = [backward_with(tmp_path, DW1_CORRECT, "dW1 = 1./m * np.dot(dZ1, X.T) + (lambd * np.sum(W1)) / m"),
             EXAMPLES / "incomplete.ipynb", EXAMPLES / "correct.ipynb"]
    alone = [to_json(grader.grade(path), "test") for path in paths]
    started = grader.start(paths[0])
    interleaved = []
    for path in paths[1:]:
        following = grader.start(path)  # its child runs while the one before is finished
        interleaved.append(to_json(grader.finish(started), "test"))
        started = following
    interleaved.append(to_json(grader.finish(started), "test"))
    assert interleaved == alone


def test_a_renamed_course_module_of_provided_helpers_is_served_with_a_note(grader, tmp_path):
    # A course copy imports the helper module under another name: a correct cost must still get its points.
    imports = "import numpy as np\nfrom lib_reg_utils import compute_cost"
    graded = exercise(grader.grade(write_notebook(tmp_path / "copy.ipynb", imports, CORRECT[COST])), COST)
    assert graded.status == "passed" and graded.score == graded.max_score
    assert graded.notes == ("lib_reg_utils is not installed here; compute_cost is a provided helper of the course, "
                            "so the grader's own copy was used (as for reg_utils).",)


def test_a_module_is_not_served_when_it_is_installed_or_holds_more_than_the_helpers(grader, tmp_path):
    for imports in ("from lib_reg_utils import compute_cost, my_own_cost", "from json import compute_cost"):
        cell = CORRECT[COST] + "\n    my_own_cost" * ("my_own_cost" in imports)  # a name the function uses
        graded = exercise(grader.grade(write_notebook(tmp_path / "copy.ipynb", imports, cell)), COST)
        assert graded.status == "error" and graded.notes == (), imports
        assert "ImportError" in graded.findings[0].evidence or "ModuleNotFoundError" in graded.findings[0].evidence
