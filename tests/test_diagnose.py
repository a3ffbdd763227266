"""Diagnosis: one finding per cause, rivals resolved by the code, and feedback that reads right.

The engine's rules are pinned on synthetic detections (no sandbox); what they give on whole
notebooks is pinned by tests/test_mutants.py and below, through the grader.
"""
from __future__ import annotations

import pytest

from grader.diagnose.causes import find_causes
from grader.diagnose.locate import Locator
from grader.extract import extract_functions
from grader.feedback import RENDERERS
from grader.feedback.blocks import place
from grader.load import load_submission
from grader.records import Cell, Detection, Submission

from conftest import BACKWARD, EXAMPLES, write_notebook
from mutants import Mutant, all_mutants, write


def no_ancestors(output: str) -> set[str]:
    return set()


def detection(*outputs: str, **fields) -> Detection:
    return Detection(tuple(outputs), "numbers", **fields)


def test_detections_claiming_exactly_the_same_are_one_cause_with_rivals():
    found = {"a.first": [detection("cost", aspects=("scale",))], "a.second": [detection("cost", aspects=("scale",))]}
    causes = find_causes(found, no_ancestors)
    assert [[mistake for mistake, _ in cause.candidates] for cause in causes] == [["a.first", "a.second"]]


def test_a_detection_covered_by_an_earlier_cause_is_a_symptom_not_a_cause():
    found = {"a.whole": [detection("dW1", "db1", part="whole")], "a.term": [detection("dW1")],
             "a.baseline": [detection("db1", part="baseline")]}
    assert [cause.candidates[0][0] for cause in find_causes(found, no_ancestors)] == ["a.whole"]


def test_independent_aspects_and_parts_of_one_output_are_separate_causes():
    found = {"a.scale": [detection("cost", aspects=("scale",))], "a.layer": [detection("cost", aspects=("W3",))],
             "a.baseline": [detection("cost", part="baseline")]}
    assert [cause.candidates[0][0] for cause in find_causes(found, no_ancestors)] == ["a.scale", "a.layer", "a.baseline"]


def test_a_detection_downstream_of_an_explained_output_is_skipped():
    found = {"a.upstream": [detection("dZ2", part="whole")], "a.downstream": [detection("dW2")]}
    causes = find_causes(found, lambda output: {"dZ2"} if output == "dW2" else set())
    assert [cause.candidates[0][0] for cause in causes] == ["a.upstream"]


def locator_for(grader, source: str) -> Locator:
    exercise = grader.assignment.exercises[0]  # compute_cost_with_regularization(A3, Y, parameters, lambd)
    extraction = extract_functions(Submission("nb.py", "0" * 64, (Cell(0, source),)), [exercise.function])[0]
    return Locator(exercise, extraction)


COST_HEAD = "def compute_cost_with_regularization(A3, Y, parameters, lambd):\n"


@pytest.mark.parametrize(("m_line", "penalty", "verdict"), [
    ("m = len(Y)", "lambd / (2 * m) * 3.0", True),  # read, and assigned otherwise
    ("m = Y.shape[1]", "lambd / (2 * m) * 3.0", False),  # assigned a right value
    ("n, m = np.shape(Y)", "lambd / (2 * m) * 3.0", False),  # unpacked from the shape: Y.shape[1]
    ("m = len(Y)", "lambd / 2 * 3.0", False),  # the penalty does not read m at all
    ("m = Y.shape[1] if Y.ndim == 1 else len(Y)", "lambd / (2 * m) * 3.0", None),  # built from a right value
    ("pass", "lambd / (2 * m) * 3.0", True),  # not assigned in the function: a notebook constant
])
def test_the_code_shows_a_wrong_variable_only_when_the_output_reads_it_assigned_otherwise(grader, m_line, penalty,
                                                                                          verdict):
    source = COST_HEAD + f"    {m_line}\n    penalty = {penalty}\n    cost = 1.0 + penalty\n    return cost\n"
    assert locator_for(grader, source).variable_verdict("m", ("Y.shape[1]", "A3.shape[1]"), "cost") is verdict


def test_student_names_are_mapped_before_comparing_with_right_values(grader):
    source = ("def compute_cost_with_regularization(a3, y, params, lam):\n    m = y.shape[1]\n"
              "    return 1.0 + lam / (2 * m)\n")
    assert locator_for(grader, source).variable_verdict("m", ("Y.shape[1]",), "cost") is False


def test_lines_quoted_for_a_variable_skip_the_placeholder_its_entries_are_written_into(grader):
    source = COST_HEAD + ("    parts = np.zeros((3, 1))\n    for i in range(3):\n        parts[i] = lambd * i\n"
                          "    total = 0\n    total = total + 1.0\n    return total + np.sum(parts)\n")
    quoted = [location.code for location in locator_for(grader, source).assignments_to(("parts", "total"))]
    # `parts = np.zeros(...)` only makes room; `total = 0` is a value the next line reads, so it stays.
    assert quoted == ["parts[i] = lambd * i", "total = 0", "total = total + 1.0"]


def test_lines_quoted_for_a_variable_skip_an_assignment_overwritten_before_it_is_read(grader):
    source = COST_HEAD + ("    penalty = lambd * 1.0\n    m = 3\n    penalty = lambd * 2.0\n"
                          "    scale = 1.0\n    scale = scale * 2.0\n    return penalty * scale\n")
    quoted = [location.code for location in locator_for(grader, source).assignments_to(("penalty", "scale"))]
    # The first penalty never counts: the second replaces it unread. The first scale is read by the next line.
    assert quoted == ["penalty = lambd * 2.0", "scale = 1.0", "scale = scale * 2.0"]


@pytest.fixture(scope="module")
def graded(grader, tmp_path_factory):
    """Feedback for a few mutants, by name."""
    folder = tmp_path_factory.mktemp("diagnose")
    wanted = {"cost-wrong-m-or-coefficient", "grad-relu-missing", "grad-hardcoded-assigned", "grad-wrong-m-global"}
    return {mutant.name: grader.grade(write(mutant, folder)) for mutant in all_mutants() if mutant.name in wanted}


def findings(result):
    return [finding for exercise in result.exercises for finding in exercise.findings]


def test_rivals_the_code_cannot_tell_apart_are_named_together_with_both_lines(graded):
    (finding,) = findings(graded["cost-wrong-m-or-coefficient"])
    assert (finding.id, finding.alternatives) == ("cost.l2-coefficient", ("cost.wrong-m",))
    quoted = [finding.location.code, *(location.code for location in finding.locations)]
    assert any("lambd / (2 * m)" in code for code in quoted) and any(code.startswith("m = ") for code in quoted)
    text = RENDERERS["text"](graded["cost-wrong-m-or-coefficient"], "test", False)
    assert "[cost.l2-coefficient or cost.wrong-m]" in text and "does not show which" in text


def test_one_statement_spoiling_several_outputs_is_one_finding(graded):
    (finding,) = findings(graded["grad-hardcoded-assigned"])
    assert finding.outputs == ("dW3", "dW2", "dW1") and finding.location.code == "lambd = 0.7"
    assert "likewise for dW2, dW3" in finding.evidence or "likewise for dW3, dW2" in finding.evidence


def test_a_wrong_m_from_a_notebook_constant_quotes_the_constant(graded):
    (finding,) = findings(graded["grad-wrong-m-global"])
    assert finding.id == "grad.wrong-m" and finding.location.code == "m = 5"
    assert "m′ = 5" in finding.evidence


def test_backprop_error_prose_lists_what_follows_from_the_first_wrong_output(graded):
    (finding,) = findings(graded["grad-relu-missing"])
    assert "dW2, db2, dA1, dZ1, dW1 and db1, computed from it, are wrong as a consequence" in finding.explanation
    assert "feeds into" not in finding.explanation


def test_generic_findings_say_no_tautology(grader, tmp_path):
    mutant = Mutant("unexplained", backward={"dW3": "dW3 = 1./m * np.dot(dZ3, A2.T) + lambd / m * W3 + lambd * 0.01 * W3**3"})
    (finding,) = findings(grader.grade(write(mutant, tmp_path)))
    assert finding.id is None and finding.explanation == ""
    assert "Why:" not in RENDERERS["text"](grader.grade(write(mutant, tmp_path)), "test", False)


def test_a_check_at_the_baseline_names_the_call_it_made(grader, tmp_path):
    mutant = Mutant("relu", backward={"dZ2": "dZ2 = dA2"})
    baseline = next(check for check in grader.grade(write(mutant, tmp_path)).exercises[1].checks
                    if "λ = 0" in check.name)
    assert "lambd = 0'" in baseline.message and "λ=" not in baseline.message


def test_every_argument_changed_in_place_is_named_with_its_lines(grader):
    result = grader.grade(EXAMPLES / "mutates_inputs.ipynb")
    (finding,) = [finding for finding in findings(result) if finding.id == "mutates-inputs"]
    quoted = [finding.location.code, *(location.code for location in finding.locations)]
    assert quoted == ["W1 **= 2", "W2 **= 2", "W3 **= 2"]
    assert all(f"`{code}`" in finding.explanation for code in quoted)


def test_findings_without_numbers_are_not_labelled_as_numbers(grader, tmp_path):
    result = grader.grade(write_notebook(tmp_path / "other.ipynb", "def initialize_parameters_he(dims):\n    return {}"))
    text = RENDERERS["text"](result, "test", False)
    assert "What the numbers show" not in text and "What happened" in text


def test_locations_name_cells_as_a_student_sees_them(grader, tmp_path):
    notebook = load_submission(EXAMPLES / "np_sum_mistake.ipynb")
    (finding,) = findings(grader.grade(EXAMPLES / "np_sum_mistake.ipynb"))
    cell = next(cell for cell in notebook.cells if cell.index == finding.location.cell)
    assert finding.location.code_cell == cell.number == [c.index for c in notebook.cells].index(cell.index) + 1
    assert place(finding.location).startswith(f"code cell {cell.number} (“# GRADED FUNCTION")
    script = tmp_path / "student.py"
    script.write_text("import numpy as np\nfrom reg_utils import compute_cost, relu, sigmoid\n\n" + "\n".join(
        cell.source for cell in notebook.cells if "def " in cell.source and "GRADED" in cell.source))
    (in_script,) = findings(grader.grade(script))
    assert place(in_script.location) == f"line {in_script.location.line}"


def test_execution_counts_name_the_cell_when_the_notebook_ran(tmp_path):
    import json

    document = json.loads((EXAMPLES / "np_sum_mistake.ipynb").read_text())
    for count, cell in enumerate((cell for cell in document["cells"] if cell["cell_type"] == "code"), start=12):
        cell["execution_count"] = count
    path = tmp_path / "ran.ipynb"
    path.write_text(json.dumps(document))
    cells = load_submission(path).cells
    assert [cell.execution_count for cell in cells] == list(range(12, 12 + len(cells)))
    graded_cell = next(cell for cell in cells if f"def {BACKWARD}(" in cell.source)
    definition = extract_functions(load_submission(path), [BACKWARD])[0].definition
    assert place(definition) == f"code cell {graded_cell.number} (In [{graded_cell.execution_count}]), line {definition.line}"
