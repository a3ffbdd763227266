"""Specs: the shipped assignment loads; every kind of mistake in a spec is refused when loaded."""
from __future__ import annotations

import shutil

import pytest
import yaml

from grader.assignment.catalog import builtin_assignments_folder, find_assignment
from grader.assignment.loader import load_assignment
from grader.errors import SpecError

BUILTIN = builtin_assignments_folder() / "regularization"


def test_builtin_assignment_loads_with_probes_and_references():
    assignment = load_assignment(BUILTIN)
    assert [exercise.function for exercise in assignment.exercises] == [
        "compute_cost_with_regularization", "backward_propagation_with_regularization",
        "forward_propagation_with_dropout", "backward_propagation_with_dropout"]
    for exercise in assignment.exercises:
        assert len(exercise.probes) >= 7
        assert sum(check.points for check in exercise.checks) == exercise.points
    assert "reg_utils" in assignment.helper_modules
    assert "def compute_cost" in assignment.helper_source


def test_given_by_name_folder_or_spec_file():
    assert find_assignment("regularization").folder == BUILTIN
    assert find_assignment(str(BUILTIN)).folder == BUILTIN
    assert find_assignment(str(BUILTIN / "assignment.yaml")).folder == BUILTIN
    with pytest.raises(SpecError, match="no assignment named"):
        find_assignment("no-such-assignment")


@pytest.fixture
def spec_copy(tmp_path):
    """A writable copy of the shipped assignment, and a function to edit its YAML."""
    folder = tmp_path / "assignment"
    shutil.copytree(BUILTIN, folder, ignore=shutil.ignore_patterns("__pycache__"))

    def edit(change):
        data = yaml.safe_load((folder / "assignment.yaml").read_text())
        change(data)
        (folder / "assignment.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
        return folder

    return edit


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(colour="blue"), "unknown key"),
        (lambda d: d["exercises"][0].update(point=3), "unknown key"),
        (lambda d: d["exercises"][0]["checks"][0].update(check="no-such-check"), "unknown check"),
        (lambda d: d["exercises"][0]["checks"][0].update(options={"bogus": 1}), "no option"),
        (lambda d: d["exercises"][0].update(points=99), "add up to"),
        (lambda d: d["exercises"][0].update(returns="tuple"), "must be number, array, dict or {tuple"),
        (lambda d: d["exercises"][0].update(returns={"tuple": ["a", "b"]}), "with no keys: list"),
        (lambda d: d["exercises"][0].pop("keys") and d["exercises"][0].update(returns={"tuple": ["a", "a"]}),
         "two elements have the same name"),
        (lambda d: d["exercises"][0].pop("keys") and d["exercises"][0].update(returns={"tuple": ["a", {"b": 3}]}),
         "an element is"),
        (lambda d: d["exercises"][1]["checks"][2]["options"].update(parts="solution.py:no_such_parts"),
         "exercises\\[1\\].*no function 'no_such_parts'"),
        (lambda d: d["exercises"][1]["checks"][3]["options"].pop("gradients"), "needs option 'gradients'"),
        (lambda d: d["mistakes"].update({"not-a-general-finding": {"title": "t", "explanation": "e", "fix": "f"}}),
         "not an id of a general finding"),
        (lambda d: d["exercises"][0].update(reference="solution.py:nothing_here"), "no function"),
        (lambda d: d["exercises"][0].update(baseline={"mu": 0}), "not a parameter"),
        (lambda d: d["exercises"][1].update(mistakes=["grad.not-a-real-mistake"]), "no prose"),
        (lambda d: d["exercises"][1]["depends_on"].update(dW9=["dZ3"]), "unknown outputs"),
        (lambda d: d["exercises"][0].pop("probes"), "missing required key"),
        (lambda d: d["exercises"][1]["checks"][3]["options"].pop("cost"), "needs option 'cost'"),
    ],
)
def test_invalid_spec_is_refused_at_load(spec_copy, change, message):
    folder = spec_copy(change)
    with pytest.raises(SpecError, match=message):
        load_assignment(folder)


def test_mistake_without_a_detector_is_refused(spec_copy):
    def add_undetectable(data):
        data["mistakes"]["grad.undetectable"] = {"title": "t", "explanation": "e", "fix": "f"}
        data["exercises"][1]["mistakes"].append("grad.undetectable")

    with pytest.raises(SpecError, match="no detector"):
        load_assignment(spec_copy(add_undetectable))
