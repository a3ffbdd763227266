"""Extraction: the graded function, what it needs and nothing else, with lines mapped back to cells."""
from __future__ import annotations

from grader.extract import extract_functions
from grader.records import Cell, Submission


def submission(*sources: str) -> Submission:
    return Submission("nb.ipynb", "0" * 64, tuple(Cell(index * 2, source) for index, source in enumerate(sources)))


def extract(function: str, *sources: str):
    return extract_functions(submission(*sources), [function])[0]


def test_keeps_function_helpers_and_needed_imports_only():
    extraction = extract(
        "graded",
        "import numpy as np\nimport matplotlib.pyplot as plt\nfrom reg_utils import compute_cost, relu\n%matplotlib inline",
        "train_X = load()\nparameters = model(train_X)\nplt.plot(train_X)",
        "def helper(x):\n    return relu(x) * 2",
        "# GRADED FUNCTION: graded\ndef graded(A, lambd):\n    return np.sum(helper(A)) + compute_cost(A, A)",
    )
    assert extraction.found
    source = extraction.source
    assert "import numpy as np" in source
    assert "from reg_utils import compute_cost" in source and "from reg_utils import relu" in source
    assert "matplotlib" not in source and "model(" not in source and "train_X" not in source
    assert "def helper" in source and "def graded" in source
    assert extraction.parameters == ("A", "lambd")
    compile(source, "<submission>", "exec")


def test_every_line_maps_back_to_its_cell_and_line():
    extraction = extract("graded", "import numpy as np", "x = 1\n\n# GRADED FUNCTION: graded\ndef graded(a):\n    y = a + 1\n    return np.sqrt(y)")
    lines = extraction.source.splitlines()
    line_of_y = lines.index("    y = a + 1") + 1
    location = extraction.locate(line_of_y)
    assert (location.cell, location.line, location.code) == (2, 5, "y = a + 1")
    assert extraction.definition.cell == 2 and extraction.definition.line == 4


def test_last_definition_wins_and_is_counted():
    extraction = extract("f", "def f():\n    return 1", "def f():\n    return 2")
    assert extraction.definition_count == 2
    assert "return 2" in extraction.source and "return 1" not in extraction.source
    assert extraction.definition.cell == 2


def test_magics_and_shell_lines_do_not_break_parsing():
    extraction = extract("f", "!pip install numpy\n%time x = 1\ndef f():\n    return 3\nf?")
    assert extraction.found
    assert extraction.locate(extraction.source.splitlines().index("def f():") + 1).line == 3


def test_top_level_variable_read_by_function_is_reported_not_included():
    extraction = extract("f", "m = train_X.shape[1]\nlambd = 0.7", "def f(X, lambd):\n    return X / m * lambd")
    assert extraction.notebook_globals == ("m",)
    assert "m = train_X" not in extraction.source


def test_literal_constant_read_by_function_is_included_with_its_line():
    extraction = extract("f", "m = 5\nscale = -2.5\nunused = 3", "def f(X):\n    return X / m * scale")
    assert extraction.notebook_globals == ()
    assert "m = 5" in extraction.source and "scale = -2.5" in extraction.source and "unused" not in extraction.source
    line = extraction.source.split("\n").index("m = 5") + 1
    assert extraction.locate(line).cell == 0 and extraction.locate(line).line == 1


def test_a_constant_rebound_by_a_computation_is_no_longer_a_constant():
    extraction = extract("f", "m = 5", "m = data.shape[1]", "def f(X):\n    return X / m")
    assert extraction.notebook_globals == ("m",) and "m = 5" not in extraction.source


def test_syntax_error_in_the_defining_cell_gives_cell_and_line():
    extraction = extract("f", "x = 1", "def f(a):\n    y = (a + 1\n    return y")
    assert not extraction.found
    assert extraction.syntax_error is not None
    assert extraction.syntax_error.location.cell == 2
    assert extraction.syntax_error.location.line in (2, 3)


def test_broken_other_cells_are_ignored():
    extraction = extract("f", "this is not python", "def f():\n    return 1")
    assert extraction.found and extraction.syntax_error is None


def test_missing_function_suggests_near_misses():
    extraction = extract("compute_cost_with_regularization", "def compute_cost_with_regularisation(a):\n    return a")
    assert not extraction.found
    assert extraction.near_misses == ("compute_cost_with_regularisation",)


def test_placeholders_are_located():
    extraction = extract("f", "def f(a):\n    cost = None\n    grad = a + None\n    return cost")
    assert [(p.line, p.code) for p in extraction.placeholders] == [(2, "cost = None"), (3, "grad = a + None")]


def test_star_import_kept_when_a_name_is_unresolved():
    extraction = extract("f", "from reg_utils import *", "def f(a):\n    return sigmoid(a)")
    assert "from reg_utils import *" in extraction.source


def test_transitive_helpers_and_classes():
    extraction = extract("f", "class Box:\n    pass", "def g():\n    return Box()", "def f():\n    return g()")
    assert "class Box" in extraction.source and "def g" in extraction.source


def test_variables_assigned_in_a_top_level_loop_are_notebook_globals():
    extraction = extract("f", "for i in range(3):\n    m = i", "def f(X):\n    return X / m")
    assert extraction.notebook_globals == ("m",)


def test_near_misses_never_name_another_graded_function():
    cost, backward = "compute_cost_with_regularization", "backward_propagation_with_regularization"
    cells = (f"def {cost}(A3, Y, parameters, lambd):\n    return 0.0",
             "def backward_propagation_with_regularisation(X, Y, cache, lambd):\n    return {}")
    extractions = extract_functions(submission(*cells), [cost, backward])
    assert extractions[0].found
    assert extractions[1].near_misses == ("backward_propagation_with_regularisation",)
