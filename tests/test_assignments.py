"""An assignment is a folder: a throw-away second one is detected, graded (tuple returns too), packaged,
and refused at load, with the file and key, when a reference in it is broken."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from grader import __version__
from grader.assignment import catalog
from grader.assignment.loader import load_assignment
from grader.errors import SpecError
from grader.extract import defined_functions
from grader.grade import Grader
from grader.records import Limits

from conftest import EXAMPLES, ROOT, write_notebook

SPEC = """\
name: scaling
title: "Scale, shift and summarise"
helpers: {source: provided.py, serves: [scaling_utils]}
detectors: [mistakes.py]
exercises:
  - function: scale_and_shift
    parameters: [x, k]
    points: 3
    reference: solution.py:scale_and_shift
    probes: probes.py:probes
    returns: {tuple: [scaled, {stats: {keys: [mean, total]}}]}
    checks:
      - {check: returns, title: "returns (scaled, {mean, total})", points: 1}
      - {check: values, title: "every output", points: 2}
mistakes:
  uses-notebook-global:
    title: "Reads a notebook variable"
    explanation: "`{function}` reads `{names}` from the notebook."
    fix: "Pass `{names}` in, or compute it inside."
"""
SOLUTION = """\
import numpy as np


def scale_and_shift(x, k):
    y = k * x + 1.0
    return y, {"mean": float(np.mean(y)), "total": float(np.sum(y))}
"""
PROBES = """\
import numpy as np


def probes():
    return [{"name": f"{n} values, k = {k}", "arguments": (np.arange(n, dtype=float) - 1.5, float(k))}
            for n, k in ((4, 2), (3, -1), (6, 0.5))]
"""


def make_assignment(folder: Path, spec: str = SPEC) -> Path:
    folder.mkdir(parents=True)
    (folder / "assignment.yaml").write_text(spec)
    (folder / "solution.py").write_text(SOLUTION)
    (folder / "probes.py").write_text(PROBES)
    (folder / "provided.py").write_text("def double(x):\n    return 2 * x\n")
    (folder / "mistakes.py").write_text("from grader.authoring import Detection, detects  # noqa: F401\n")
    return folder


@pytest.fixture
def scaling(tmp_path) -> Path:
    return make_assignment(tmp_path / "scaling")


def student(tmp_path: Path, body: str) -> Path:
    return write_notebook(tmp_path / "student.ipynb", "import numpy as np", textwrap.dedent(body))


def test_a_folder_with_an_assignment_yaml_is_an_assignment_and_a_tuple_is_graded_output_by_output(scaling, tmp_path):
    right = student(tmp_path, """\
        def scale_and_shift(x, k):
            y = k * x + 1.0
            return y, {"mean": np.mean(y), "total": np.sum(y)}
        """)
    with Grader(scaling, Limits(wall_seconds=3)) as grader:
        assert grader.assignment.exercises[0].keys == ("scaled", "stats.mean", "stats.total")
        assert grader.grade(right).score == 3
        wrong = student(tmp_path, """\
            def scale_and_shift(x, k):
                y = k * x + 1.0
                return y, {"mean": np.mean(y) + 1, "total": np.sum(y)}
            """)
        result = grader.grade(wrong)
    (exercise,) = result.exercises
    assert exercise.score == pytest.approx(1 + 2 * 2 / 3, abs=0.01)  # one output of three wrong in "every output"
    (finding,) = exercise.findings
    assert finding.outputs == ("stats.mean",) and '"mean": np.mean(y) + 1' in finding.location.code


def test_a_tuple_of_the_wrong_length_is_a_wrong_type_naming_what_is_expected(scaling, tmp_path):
    short = student(tmp_path, "def scale_and_shift(x, k):\n    return k * x + 1.0,\n")
    with Grader(scaling, Limits(wall_seconds=3)) as grader:
        (finding,) = grader.grade(short).exercises[0].findings
    assert finding.id == "wrong-type"
    assert "a tuple of 1, not a tuple of 2 (scaled, stats)" in finding.evidence


def test_the_assignment_words_general_findings_its_own_way(scaling, tmp_path):
    global_reader = write_notebook(tmp_path / "g.ipynb", "k0 = np.ones(3)",
                                   "def scale_and_shift(x, k):\n    return k0 * x, {'mean': 0.0, 'total': 0.0}\n")
    with Grader(scaling, Limits(wall_seconds=3)) as grader:
        (finding,) = grader.grade(global_reader).exercises[0].findings
    assert finding.title == "Reads a notebook variable" and finding.fix == "Pass `k0` in, or compute it inside."


@pytest.fixture
def two_builtins(tmp_path, monkeypatch, scaling) -> Path:
    """A catalogue of two built-in assignments: this one and the shipped regularization."""
    root = tmp_path / "builtin"
    root.mkdir()
    (root / "regularization").symlink_to(catalog.builtin_assignments_folder() / "regularization")
    (root / "scaling").symlink_to(scaling)
    monkeypatch.setattr(catalog, "builtin_assignments_folder", lambda: root)
    return root


def test_detection_picks_the_assignment_whose_functions_the_notebook_defines_and_says_why(two_builtins, tmp_path):
    mine = student(tmp_path, "def scale_and_shift(x, k):\n    return x, {}\n")
    choice = catalog.find_assignment(None, lambda: defined_functions([str(mine)]))
    assert choice.folder.name == "scaling" and "scale_and_shift" in choice.reason and "1 of its 1" in choice.reason
    regularization = catalog.find_assignment(None, lambda: defined_functions([str(EXAMPLES / "correct.ipynb")]))
    assert regularization.folder.name == "regularization" and "4 of its 4" in regularization.reason


def test_a_class_is_told_by_its_submissions_together_not_by_the_first_one(two_builtins, tmp_path):
    for folder in ("a", "c"):
        (tmp_path / folder).mkdir()
    renamed = student(tmp_path / "a", "def scale_and_shift_renamed(x, k):\n    return x, {}\n")
    unreadable = tmp_path / "b.ipynb"
    unreadable.write_text("{ not json")
    mine = student(tmp_path / "c", "def scale_and_shift(x, k):\n    return x, {}\n")
    choice = catalog.find_assignment(None, lambda: defined_functions([str(renamed), str(unreadable), str(mine)]))
    assert choice.folder.name == "scaling"


def test_detection_needs_the_signature_and_refuses_a_tie(two_builtins, tmp_path):
    wrong_arity = student(tmp_path, "def scale_and_shift(x):\n    return x\n")
    with pytest.raises(SpecError, match=r"no submission defines a graded function .* \(it defines scale_and_shift\)"):
        catalog.find_assignment(None, lambda: defined_functions([str(wrong_arity)]))
    shutil.copytree(two_builtins / "scaling", two_builtins / "scaling_copy")
    tie = student(tmp_path, "def scale_and_shift(x, k):\n    return x, {}\n")
    with pytest.raises(SpecError, match="fits scaling and scaling_copy equally"):
        catalog.find_assignment(None, lambda: defined_functions([str(tie)]))


def test_a_broken_reference_anywhere_in_a_spec_fails_at_load_with_the_file_and_key(tmp_path):
    for name, (broken, fixed), key in [
            ("reference", ("solution.py:scale_and_shift", "solution.py:scale"), r"exercises\[0\]\.reference"),
            ("probes", ("probes.py:probes", "probes.py:probe_list"), r"exercises\[0\]\.probes"),
            ("check", ("points: 2}", "points: 2, options: {outputs: [scaled]}}"), None)]:
        folder = make_assignment(tmp_path / name, SPEC.replace(broken, fixed))
        if key is None:  # not broken: a check option of the right type loads
            assert load_assignment(folder).exercises[0].checks[1].options == {"outputs": ["scaled"]}
            continue
        with pytest.raises(SpecError, match=rf"{folder.name}/assignment.yaml: {key}: .* has no function"):
            load_assignment(folder)
    detectors = make_assignment(tmp_path / "detectors", SPEC.replace("[mistakes.py]", "[no_such_file.py]"))
    with pytest.raises(SpecError, match="detectors: cannot load no_such_file.py"):
        load_assignment(detectors)


def test_pip_install_ships_every_assignment_folder(tmp_path):
    """Packaging: a wheel of the project with a second assignment folder added holds both, whole."""
    copy = tmp_path / "project"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout: the files to package are not known")
    for name in tracked:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    make_assignment(copy / "reference" / "scaling")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path / "dist"),
                           str(copy)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "No module named pip" in done.stderr:
        pytest.skip("pip is not available to this Python")
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("regularization", "scaling"):
        shipped = {Path(name).name for name in names if name.startswith(f"grader/reference/{folder}/")}
        assert shipped == {path.name for path in (copy / "reference" / folder).iterdir() if path.is_file()}
    assert "grader/py.typed" in names
    metadata = zipfile.ZipFile(wheel).read(next(name for name in names if name.endswith("METADATA"))).decode()
    assert f"Version: {__version__}" in metadata.splitlines()  # the one version, grader.__version__


def test_with_one_built_in_assignment_the_notebook_is_not_read_to_choose():
    def read() -> dict[str, int]:
        raise AssertionError("read the notebook although there was nothing to choose")

    if len(catalog.builtin_names()) == 1:
        assert catalog.find_assignment(None, read).folder == catalog.builtin_assignments_folder() / "regularization"
    else:
        with pytest.raises(AssertionError, match="although"):
            catalog.find_assignment(None, read)


REPLACING_SPEC = """\
name: applying
title: "Apply a function the course gives"
helpers: {source: provided.py, serves: [applying_utils]}
exercises:
  - function: apply_twice
    parameters: [x]
    points: 1
    reference: solution.py:apply_twice
    probes: probes.py:probes
    returns: number
    keys: [y]
    replaces: [step]
    checks:
      - {check: values, title: "y", points: 1}
"""


def make_replacing_assignment(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "assignment.yaml").write_text(REPLACING_SPEC)
    (folder / "provided.py").write_text("def step(x):\n    return x + 1.0\n\ndef double(x):\n    return 2.0 * x\n")
    (folder / "solution.py").write_text("from .provided import step as given_step\n\n\n"
                                        "def apply_twice(x, step=given_step):\n    return step(step(x))\n")
    (folder / "probes.py").write_text(
        "from .provided import double\n\n\ndef probes():\n"
        "    return [{'name': 'step', 'arguments': (1.0,)},\n"
        "            {'name': 'double', 'arguments': (1.0,), 'replacements': {'step': double}},\n"
        "            {'name': 'double by name', 'arguments': (3.0,), 'replacements': {'step': 'double'}}]\n")
    return folder


def test_replaced_functions_are_the_provided_helpers_each_probe_chose_for_student_and_reference(tmp_path):
    folder = make_replacing_assignment(tmp_path / "applying")
    exercise = load_assignment(folder).exercises[0]
    assert [exercise.call_reference(probe, probe.arguments) for probe in exercise.probes] == [3.0, 4.0, 12.0]
    # The student's own `step` (wrong on purpose) never runs: the grader binds the helper each probe chose.
    own = write_notebook(tmp_path / "own.ipynb",
                         "def step(x):\n    return x - 100\n\ndef apply_twice(x):\n    return step(step(x))\n")
    inline = write_notebook(tmp_path / "inline.ipynb", "def apply_twice(x):\n    return x + 2.0\n")  # step adds 1
    with Grader(folder, Limits(wall_seconds=3)) as grader:
        assert grader.grade(own).score == 1
        result = grader.grade(inline)
    assert "differs on 2 of 3 probes" in result.exercises[0].checks[0].message


@pytest.mark.parametrize("replacement, message", [
    ("'replacements': {'step': len}", "must be replaced by a function of the provided helpers"),
    ("'replacements': {'other': 'double'}", "replaces other, which the exercise does not list"),
])
def test_a_replacement_that_is_not_a_provided_helper_is_refused_at_load(tmp_path, replacement, message):
    folder = make_replacing_assignment(tmp_path / "applying")
    probes = (folder / "probes.py").read_text().replace("'replacements': {'step': double}", replacement)
    (folder / "probes.py").write_text(probes)
    with pytest.raises(SpecError, match=message):
        load_assignment(folder)


VARIANTS = """\
import numpy as np

from grader.authoring import variant


@variant("scale.no-shift", points_at=("y",))
def forgets_the_shift(x, k):
    y = k * x
    return y, {"mean": float(np.mean(y)), "total": float(np.sum(y))}


@variant("scale.scalar-only")
def converts_to_a_number(x, k):
    y = float(x) * k + 1.0  # raises for arrays of several numbers
    return y, {"mean": y, "total": y}
"""
VARIANT_PROSE = """\
  scale.no-shift:
    title: "The shift is missing"
    explanation: "y is k·x + 1, not k·x."
    fix: "Add 1.0."
  scale.scalar-only:
    title: "float() of an array"
    explanation: "float() takes one number; x holds several."
    fix: "Multiply the array itself: k * x."
"""


@pytest.fixture
def with_variants(tmp_path) -> Path:
    spec = SPEC.replace("detectors: [mistakes.py]", "variants: [variants.py]").replace(
        "    checks:", "    mistakes: [scale.no-shift, scale.scalar-only]\n    checks:") + VARIANT_PROSE
    folder = make_assignment(tmp_path / "scaling", spec)
    (folder / "variants.py").write_text(VARIANTS)
    return folder


def test_a_variant_detects_its_mistake_and_quotes_the_lines_building_the_variable_it_points_at(with_variants,
                                                                                                 tmp_path):
    exercise = load_assignment(with_variants).exercises[0]
    assert [variant.__name__ for variant in exercise.variants["scale.no-shift"]] == ["forgets_the_shift"]
    shiftless = student(tmp_path, """\
        def scale_and_shift(x, k):
            y = x.copy()
            y *= k
            return y, {"mean": np.mean(y), "total": np.sum(y)}
        """)
    with Grader(with_variants, Limits(wall_seconds=3)) as grader:
        (finding,) = grader.grade(shiftless).exercises[0].findings
    assert finding.id == "scale.no-shift" and finding.outputs == ("scaled", "stats.mean", "stats.total")
    assert [finding.location.code, *(line.code for line in finding.locations)] == ["y = x.copy()", "y *= k"]
    assert "exactly what this mistake gives" in finding.evidence


def test_a_variant_that_raises_explains_a_student_raising_the_same_error_at_the_students_line(with_variants,
                                                                                               tmp_path):
    scalar = student(tmp_path, """\
        def scale_and_shift(x, k):
            value = k * float(x) + 1.0
            return value, {"mean": value, "total": value}
        """)
    with Grader(with_variants, Limits(wall_seconds=3)) as grader:
        result = grader.grade(scalar)
    (finding,) = result.exercises[0].findings
    assert finding.id == "scale.scalar-only" and finding.title == "float() of an array"
    assert finding.location.code == "value = k * float(x) + 1.0" and "TypeError" in finding.evidence
    assert result.exercises[0].status == "error"  # explained, still not credited


def test_a_student_whose_numbers_differ_from_every_variant_gets_no_catalogue_finding(with_variants, tmp_path):
    other = student(tmp_path, """\
        def scale_and_shift(x, k):
            y = k * x - 1.0
            return y, {"mean": np.mean(y), "total": np.sum(y)}
        """)
    with Grader(with_variants, Limits(wall_seconds=3)) as grader:
        findings = grader.grade(other).exercises[0].findings
    assert findings and all(finding.id is None for finding in findings)


def test_a_variant_of_an_id_no_exercise_lists_is_refused_at_load(with_variants):
    (with_variants / "variants.py").write_text(VARIANTS.replace('"scale.scalar-only"', '"scale.unlisted"'))
    with pytest.raises(SpecError, match="variant converts_to_a_number .*no exercise lists 'scale.unlisted'"):
        load_assignment(with_variants)


def test_a_variant_returning_the_right_value_in_another_form_explains_a_student_who_does_the_same(tmp_path):
    folder = make_replacing_assignment(tmp_path / "applying")
    spec = (folder / "assignment.yaml").read_text()
    spec = spec.replace("    replaces: [step]", "    replaces: [step]\n    mistakes: [apply.as-array]")
    spec = spec.replace("exercises:", "variants: [variants.py]\nexercises:") + (
        "mistakes:\n  apply.as-array:\n    title: \"A 1x1 array, not a number\"\n"
        "    explanation: \"np.array([[y]]) is an array.\"\n    fix: \"Return the number itself.\"\n")
    (folder / "assignment.yaml").write_text(spec)
    (folder / "variants.py").write_text(
        "import numpy as np\n\nfrom grader.authoring import variant\nfrom .provided import step as given\n\n\n"
        "@variant('apply.as-array', points_at=('y',))\ndef as_array(x, step=given):\n"
        "    return np.array([[step(step(x))]])\n")
    boxed = write_notebook(tmp_path / "boxed.ipynb", "import numpy as np",
                           "def apply_twice(x):\n    y = np.array([[step(step(x))]])\n    return y\n")
    plain = write_notebook(tmp_path / "plain.ipynb", "def apply_twice(x):\n    return step(step(x))\n")
    with Grader(folder, Limits(wall_seconds=3)) as grader:
        (exercise,) = grader.grade(boxed).exercises
        assert grader.grade(plain).exercises[0].findings == ()
    (finding,) = exercise.findings
    assert finding.id == "apply.as-array" and finding.location.code == "y = np.array([[step(step(x))]])"
    assert "returns an array of shape (1, 1), as this mistake does" in finding.evidence
    assert exercise.score == 1  # the value is right: explained, not taken off


def test_a_function_with_extra_parameters_that_have_defaults_still_fits_its_assignment(two_builtins, tmp_path):
    mine = student(tmp_path, "def scale_and_shift(x, k, verbose=False, *rest):\n    return x, {}\n")
    assert defined_functions([str(mine)])["scale_and_shift"][0] == 2
    assert catalog.find_assignment(None, lambda: defined_functions([str(mine)])).folder.name == "scaling"
    short = student(tmp_path, "def scale_and_shift(x, k=1, j=2):\n    return x\n")  # takes 1 to 3: fits 2 too
    assert catalog.find_assignment(None, lambda: defined_functions([str(short)])).folder.name == "scaling"
