"""Which modules a submission imports are served by the assignment's provided helpers.

The spec names the course's helper modules (`helpers.serves`: `reg_utils`, `testCases`...).
Course copies rename them (`lib_reg_utils`), so a module the spec does not name is served
too when it is not installed here and everything imported from it is a provided helper
(`from lib_reg_utils import compute_cost`): a student's correct code must not score 0 for
the name of a file. That guess is said in a note. A plain `import lib_reg_utils` or a
`from lib_reg_utils import *` says nothing of what the module holds: only the spec can
serve those.

"Not installed" is decided without importing anything: `importlib.util.find_spec` of a
top-level name only asks the import system's finders where it would be found, and runs no
module code.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
from dataclasses import dataclass

from grader.assignment.model import Assignment
from grader.extract.syntax import walk
from grader.records import Extraction


@dataclass(frozen=True, slots=True)
class Serving:
    """The helper modules one extracted function gets, and what to tell about those the spec does not name."""

    modules: tuple[str, ...]
    """Module names to serve the provided helpers under."""
    notes: tuple[str, ...] = ()
    """One per module served because what it imports are provided helpers (see the module docstring)."""


def serving(assignment: Assignment, extraction: Extraction) -> Serving:
    """The modules `extraction` imports that the assignment's provided helpers serve."""
    named = tuple(name for name in assignment.helper_modules if name in extraction.imported_modules)
    unknown = [name for name in extraction.imported_modules
               if name not in assignment.helper_modules and not _installed(name)]
    if not unknown:  # the common case (numpy and the spec's modules): no walk of the tree
        return Serving(named)
    guessed, notes = [], []
    imported = _names_imported(extraction.module_tree(), set(unknown))
    for module in unknown:
        names = imported.get(module)
        if names and names <= assignment.helper_names:
            guessed.append(module)
            known = f" (as for {assignment.helper_modules[0]})" if assignment.helper_modules else ""
            what = f"{names.pop()} is a provided helper" if len(names) == 1 else \
                f"{', '.join(sorted(names))} are provided helpers"
            notes.append(f"{module} is not installed here; {what} of the course, so the grader's own copy was "
                         f"used{known}.")
    return Serving(named + tuple(guessed), tuple(notes))


def _names_imported(tree: ast.Module, modules: set[str]) -> dict[str, set[str] | None]:
    """For each of `modules`: the names `from module import ...` takes, or None when it is used otherwise."""
    imported: dict[str, set[str] | None] = {}
    for node in walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in modules:
                    imported[alias.name.split(".")[0]] = None
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            top = node.module.split(".")[0]
            if top not in modules:
                continue
            names = {alias.name for alias in node.names}
            if node.module != top or "*" in names or imported.get(top, set()) is None:
                imported[top] = None  # a submodule, a star, or a plain import: nothing to tell what it holds
            else:
                imported[top] = (imported.get(top) or set()) | names
    return imported


@functools.lru_cache(maxsize=256)
def _installed(name: str) -> bool:
    """Whether a top-level module can be imported here (asked of the finders: nothing is imported)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # e.g. a module in sys.modules without a spec: it exists
        return True
