"""The layout is the architecture: imports go one way, every module loads alone, the packages ship.

The import graph is read from the source (every `import` and `from ... import`, those inside
functions included, so a late import cannot hide a cycle; those under `if TYPE_CHECKING:` are
annotations, not dependencies).
"""
from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from conftest import ROOT

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the layout is the same on 3.10

PACKAGE = ROOT / "grader"


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_blocks(tree: ast.Module) -> set[int]:
    ignored = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            ignored.update(id(child) for statement in node.body for child in ast.walk(statement))
    return ignored


def imports_of(name: str) -> set[str]:
    """The grader modules `name` imports (its own package's modules it names included)."""
    tree = ast.parse(MODULES[name].read_text())
    ignored = _type_checking_blocks(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in ignored:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("grader"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader") and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in MODULES)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def test_the_import_graph_has_no_cycle():
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for imported in sorted(GRAPH[name]):
            # A package's __init__ importing its own modules is how it curates its API, not a dependency back.
            if name == "grader" or (imported.startswith(name + ".") and MODULES[name].name == "__init__.py"):
                continue
            if state.get(imported) == "open":
                raise AssertionError("import cycle: " + " → ".join([*path, name, imported]))
            if imported not in state:
                visit(imported, [*path, name])
        state[name] = "done"

    for name in MODULES:
        if name not in state:
            visit(name, [])


@pytest.mark.parametrize(("module", "allowed"), [
    ("grader.assignment.model", set()),
    ("grader.records", set()),
    ("grader.errors", set()),
    ("grader.lifetime", {"grader.errors"}),
])
def test_the_bottom_of_the_imports_imports_nothing_above_it(module, allowed):
    assert GRAPH[module] <= allowed


def test_the_sandbox_knows_nothing_of_assignments_or_grading():
    outside = {imported for name, imports in GRAPH.items() if name.startswith("grader.sandbox")
               for imported in imports if not imported.startswith("grader.sandbox")}
    assert outside <= {"grader.records", "grader.errors", "grader.lifetime"}


def test_no_stage_imports_the_batch_or_the_command_line():
    for name, imports in GRAPH.items():
        if not name.startswith(("grader.batch", "grader.cli", "grader.__main__")):
            assert not {imported for imported in imports if imported.startswith(("grader.batch", "grader.cli"))}, name


def test_only_the_command_line_imports_the_batch_and_only_on_demand():
    tree = ast.parse(MODULES["grader.cli"].read_text())
    top_level = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert not {module for module in top_level if module and module.startswith("grader.batch")}


def test_every_module_imports_in_a_fresh_interpreter():
    script = ("import importlib, sys\nfailed = []\nfor name in sys.argv[1:]:\n    try:\n        importlib.import_module(name)\n"
              "    except Exception as error:\n        failed.append(f'{name}: {type(error).__name__}: {error}')\n"
              "print('\\n'.join(failed))\n")
    modules = [name for name in MODULES if name != "grader.__main__"]  # that one runs the command
    done = subprocess.run([sys.executable, "-c", script, *modules], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr


def test_the_packages_pyproject_ships_are_the_packages_on_disk():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert listed == on_disk | {"grader.reference"}


def test_no_module_is_much_over_four_hundred_lines():
    long = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}
    assert {name: lines for name, lines in long.items() if lines > 450} == {}
