"""Serving the provided helpers: the modules the spec names, and renamed course copies recognised by what they import."""
from __future__ import annotations

import shutil

import pytest
import yaml

from grader.assignment.catalog import builtin_assignments_folder
from grader.assignment.loader import load_assignment
from grader.extract import extract_functions
from grader.extract.served import serving
from grader.records import Cell, Submission

BUILTIN = builtin_assignments_folder() / "regularization"
FUNCTION = "def graded(A3, Y):\n    return compute_cost(A3, Y) + sigmoid(A3).sum()"


@pytest.fixture(scope="module")
def assignment():
    return load_assignment(BUILTIN)


def extraction(*cells: str):
    submission = Submission("nb.ipynb", "0" * 64, tuple(Cell(index, source) for index, source in enumerate(cells)))
    return extract_functions(submission, ["graded"])[0]


def test_the_spec_names_its_modules_and_the_helpers_names_are_read_without_running_them(assignment):
    assert {"compute_cost", "sigmoid", "relu", "np"} <= assignment.helper_names
    assert not any(name.startswith("_") for name in assignment.helper_names)
    served = serving(assignment, extraction("from reg_utils import compute_cost, sigmoid\nimport numpy as np", FUNCTION))
    assert served.modules == ("reg_utils",) and served.notes == ()


def test_an_unknown_module_is_served_when_every_name_taken_from_it_is_a_helper(assignment):
    served = serving(assignment, extraction("from lib_reg_utils import compute_cost\nfrom lib_reg_utils import sigmoid",
                                            FUNCTION))
    assert served.modules == ("lib_reg_utils",)
    assert served.notes == ("lib_reg_utils is not installed here; compute_cost, sigmoid are provided helpers of the "
                            "course, so the grader's own copy was used (as for reg_utils).",)


@pytest.mark.parametrize("imports", [
    "from lib_reg_utils import compute_cost, sigmoid, graded_helper",  # one name is not a helper
    "from lib_reg_utils import *",  # says nothing of what the module holds
    "import lib_reg_utils\nfrom lib_reg_utils import compute_cost, sigmoid",  # used as a module as well
    "from lib.reg_utils import compute_cost, sigmoid",  # a submodule
    "from json import compute_cost, sigmoid",  # installed: never shadowed
])
def test_an_unknown_module_is_not_served_otherwise(assignment, imports):
    cells = (imports, FUNCTION.replace("return ", "graded_helper\n    lib_reg_utils\n    return "))
    assert serving(assignment, extraction(*cells)).modules == ()


def test_the_spec_can_serve_more_module_names(tmp_path):
    folder = tmp_path / "assignment"
    shutil.copytree(BUILTIN, folder, ignore=shutil.ignore_patterns("__pycache__"))
    spec = yaml.safe_load((folder / "assignment.yaml").read_text())
    spec["helpers"]["serves"].append("lib_reg_utils")
    (folder / "assignment.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    served = serving(load_assignment(folder), extraction("from lib_reg_utils import *", FUNCTION))
    assert served.modules == ("lib_reg_utils",) and served.notes == ()
