"""Dropout, graded from the student's own masks: the draws check and its bounds, --strict-rng from the command
line and from the spec, and the spec's student_draws block refused when it is wrong."""
from __future__ import annotations

import dataclasses
import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

from grader.assignment.catalog import builtin_assignments_folder
from grader.assignment.loader import load_assignment
from grader.checks.draws import Share, is_binary, share
from grader.errors import SpecError
from grader.grade import Grader
from grader.records import Limits

from conftest import EXAMPLES, GRADED_SECONDS, write_notebook
from dropout_mutants import BACKWARD, FORWARD, R1, R2, backward_source, forward_source

IMPORTS = "import numpy as np\nfrom reg_utils import relu, sigmoid"
DRAWS = "masks D1, D2"
BUILTIN = builtin_assignments_folder() / "regularization"


def graded(grader, tmp_path, forward: dict | None = None, backward: dict | None = None):
    path = write_notebook(tmp_path / "student.ipynb", IMPORTS, forward_source(forward or {}),
                          backward_source(backward or {}))
    result = grader.grade(path)
    return {exercise.function: exercise for exercise in result.exercises}


def check(exercise, start):
    """The check whose title starts so (results name checks by their titles)."""
    return next(check for check in exercise.checks if check.name.startswith(start))


# ---- the bound ---------------------------------------------------------------------------------------------


def test_share_bound_is_five_binomial_standard_deviations():
    kept = Share(kept=7590, units=10_000, probability=0.7, sigmas=5.0)
    assert kept.margin == pytest.approx(5 * math.sqrt(0.7 * 0.3 / 10_000))
    assert not kept.within  # 75.9% is 5.9 points off, the bound is 2.3
    assert str(kept) == "kept 75.9% of 10,000 units, expected 70% ± 2.3%"
    assert Share(7200, 10_000, 0.7, 5.0).within and Share(6780, 10_000, 0.7, 5.0).within
    assert not Share(6760, 10_000, 0.7, 5.0).within
    assert str(Share(10, 10, 1.0, 5.0)) == "kept 100.0% of 10 units, expected 100% exactly"
    assert not Share(9, 10, 1.0, 5.0).within


def test_share_counts_ones_and_binary_accepts_booleans_only_as_zero_one():
    draw = np.array([[True, False], [True, True]])
    assert share(draw, 0.5, 5.0).kept == 3 and share(draw, 0.5, 5.0).units == 4
    assert is_binary(draw) and is_binary(draw.astype(float))
    assert not is_binary(np.array([[0.2, 1.0]]))


def test_a_valid_way_of_drawing_passes_the_bound_on_many_seeds():
    # The bound's promise, measured: 200 seeds of 12,000 fair draws, none outside 5σ.
    for seed in range(200):
        draw = np.random.default_rng(seed).random((40, 300)) < 0.8
        assert share(draw, 0.8, 5.0).within, seed


# ---- the draws check on graded notebooks ---------------------------------------------------------------------


def test_masks_drawn_another_way_get_full_marks(grader, tmp_path):
    exercises = graded(grader, tmp_path, forward={
        "seed": "", "draw1": "D1 = np.random.random(A1.shape)", "draw2": "D2 = np.random.rand(*A2.shape)"})
    forward = exercises[FORWARD]
    assert forward.score == forward.max_score and not forward.findings
    assert check(forward, DRAWS).passed


def test_randn_masks_fail_the_bound_and_the_message_states_it(grader, tmp_path):
    randn = {"draw1": R1.replace("rand(", "randn("), "draw2": R2.replace("rand(", "randn(")}
    forward = graded(grader, tmp_path, forward=randn)[FORWARD]
    draws = check(forward, DRAWS)
    assert not draws.passed and draws.score == 0
    # e.g. "cache.D1: kept 80.6% of 12,000 units, expected 70% ± 2.1%": Φ(0.7) ≈ 0.758 is far outside.
    assert "units, expected" in draws.message and "±" in draws.message
    assert [finding.id for finding in forward.findings] == ["dropout.mask-from-randn"]


def test_masks_not_thresholded_are_refused_as_not_zero_one(grader, tmp_path):
    forward = graded(grader, tmp_path, forward={"mask1": "", "apply1": "A1 = A1 * (D1 < keep_prob)"})[FORWARD]
    draws = check(forward, DRAWS)
    assert not draws.passed and "cache.D1" in draws.message and "0" in draws.message
    assert "cache.D2" not in draws.message


def test_one_mask_per_neuron_is_refused_for_its_shape_or_repetition(grader, tmp_path):
    forward = graded(grader, tmp_path, forward={
        "draw2": "D2 = np.tile(np.random.rand(A2.shape[0], 1), (1, A2.shape[1]))"})[FORWARD]
    draws = check(forward, DRAWS)
    assert not draws.passed and "cache.D2" in draws.message and "column" in draws.message
    assert [finding.id for finding in forward.findings] == ["dropout.mask-per-neuron"]


def test_only_the_wrong_mask_line_is_quoted(grader, tmp_path):
    forward = graded(grader, tmp_path, forward={"draw2": "D2 = np.random.randn(*A2.shape)"})[FORWARD]
    (finding,) = forward.findings
    assert finding.outputs == ("cache.D2",)
    quoted = [finding.location.code] + [location.code for location in finding.locations]
    assert quoted == ["D2 = np.random.randn(*A2.shape)"]


def test_a_mistake_in_both_backward_layers_is_reported_for_both(grader, tmp_path):
    backward = graded(grader, tmp_path, backward={"scale1": "", "scale2": ""})[BACKWARD]
    found = {(finding.id, finding.outputs) for finding in backward.findings}
    assert found == {("dropout-backward.not-scaled", ("dA2",)), ("dropout-backward.not-scaled", ("dA1",))}


# ---- --strict-rng ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict_grader():
    with Grader("regularization", Limits(wall_seconds=GRADED_SECONDS), strict_rng=True) as opened:
        yield opened


def test_strict_rng_accepts_the_course_order_and_says_so(strict_grader, tmp_path):
    forward = graded(strict_grader, tmp_path)[FORWARD]
    assert forward.score == forward.max_score
    assert any("--strict-rng" in note for note in forward.notes)


def test_strict_rng_marks_another_valid_way_of_drawing_wrong(strict_grader, grader, tmp_path):
    other = {"draw1": "D1 = np.random.rand(*A1.shape)", "draw2": "D2 = np.random.random(A2.shape)",
             "seed": "np.random.seed(1)\nnp.random.rand(3)"}
    assert graded(grader, tmp_path, forward=other)[FORWARD].findings == ()
    strict = graded(strict_grader, tmp_path, forward=other)[FORWARD]
    assert strict.score < strict.max_score
    assert any("--strict-rng" in note for note in strict.notes)


def _cli(*arguments: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "grader", *arguments, "--format", "json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def _forward_result(result: dict) -> dict:
    return next(exercise for exercise in result["exercises"] if exercise["function"] == FORWARD)


def test_strict_rng_from_the_command_line_and_from_the_spec(tmp_path):
    example = str(EXAMPLES / "dropout_other_draws.ipynb")
    relaxed = _forward_result(_cli(example))
    assert relaxed["score"] == relaxed["max_score"]
    strict = _forward_result(_cli(example, "--strict-rng"))
    assert strict["score"] < strict["max_score"] and any("--strict-rng" in note for note in strict["notes"])

    folder = tmp_path / "strict"
    shutil.copytree(BUILTIN, folder, ignore=shutil.ignore_patterns("__pycache__"))
    data = yaml.safe_load((folder / "assignment.yaml").read_text())
    data["strict_rng"] = True
    (folder / "assignment.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    from_spec = _forward_result(_cli(example, "--assignment", str(folder)))
    assert from_spec["score"] == strict["score"]


# ---- the spec ---------------------------------------------------------------------------------------------------


def _forward_spec(data: dict) -> dict:
    return next(exercise for exercise in data["exercises"] if exercise["function"] == FORWARD)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e["student_draws"]["outputs"].update({"cache.D9": "cache.A1"}), "cache.D9"),
        (lambda e: e["student_draws"]["outputs"].update({"cache.D1": "cache.A9"}), "cache.A9"),
        (lambda e: e["student_draws"].update(probability="keep"), "not a parameter"),
        (lambda e: e["student_draws"].update(reference="dropout.py:no_such_function"), "no function"),
        (lambda e: e["student_draws"].pop("probability"), "missing required key"),
        (lambda e: e["student_draws"].update(colour="blue"), "unknown key"),
        (lambda e: e.pop("student_draws"), "student_draws"),
    ],
)
def test_a_wrong_student_draws_block_is_refused_at_load(tmp_path, change, message):
    folder = tmp_path / "assignment"
    shutil.copytree(BUILTIN, folder, ignore=shutil.ignore_patterns("__pycache__"))
    data = yaml.safe_load((folder / "assignment.yaml").read_text())
    change(_forward_spec(data))
    (folder / "assignment.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(SpecError, match=message):
        load_assignment(folder)


def test_a_detector_that_raises_costs_no_grade_and_is_reported(tmp_path):
    """A detector's bug on outputs nobody foresaw: the submission is still graded the same, with a note."""
    def broken(exercise, trials):
        raise ValueError("operands could not be broadcast")

    with Grader("regularization") as grader:
        notebook = EXAMPLES / "dropout_mistakes.ipynb"
        before = grader.grade(notebook)
        exercises = tuple(dataclasses.replace(exercise, detectors={"dropout.broken": broken, **exercise.detectors})
                          if exercise.function == FORWARD else exercise for exercise in grader.assignment.exercises)
        grader.assignment = dataclasses.replace(grader.assignment, exercises=exercises)
        after = grader.grade(notebook)
    forward_before, forward_after = (next(e for e in result.exercises if e.function == FORWARD)
                                     for result in (before, after))
    assert forward_after.score == forward_before.score and after.score == before.score
    assert [f.id for f in forward_after.findings] == [f.id for f in forward_before.findings]
    assert any("dropout.broken: ValueError: operands could not be broadcast" in note and "bug in the grader" in note
               for note in forward_after.notes), forward_after.notes
    assert not any("detector" in note for note in forward_before.notes)


def test_masks_kept_as_lists_of_lists_are_graded_by_their_values_with_a_note(tmp_path):
    listed = "D{n} = [[bool(D{n}[i, j] < keep_prob) for j in range(D{n}.shape[1])] for i in range(D{n}.shape[0])]"
    with Grader("regularization") as grader:
        exercises = graded(grader, tmp_path, forward={"mask1": listed.format(n=1), "mask2": listed.format(n=2)})
        forward = exercises[FORWARD]
        assert forward.score == forward.max_score and not forward.findings
        assert any("cache.D1, cache.D2 are lists (of lists), not NumPy arrays" in note for note in forward.notes)
        ragged = "cache = (Z1, [list(row) for row in D1] + [[1]], A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)"
        forward = graded(grader, tmp_path, forward={"cache": ragged})[FORWARD]
        assert forward.score == 0 and [finding.id for finding in forward.findings] == ["wrong-type"]
