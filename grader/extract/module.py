"""Build the minimal module of a graded function, by AST, without running anything.

The module holds the function, the notebook's own functions, classes and literal constants it
needs (transitively), and the imports that bind names it uses. Every other top-level statement
(loops, plots, tests, data loading) is left out. Each line of the module maps back to (cell,
line in cell), so feedback can quote the student's own line.
"""
from __future__ import annotations

import ast
import difflib
from collections.abc import Sequence

from grader.extract.notebook import BINDING_STATEMENTS, BUILTIN_NAMES, Binding, Notebook
from grader.extract.syntax import walk
from grader.load import load_submission
from grader.records import CellLabel, Extraction, Location, Submission, SyntaxProblem, parsed_source

_SAMPLE = 25  # readable submissions read to tell a class's assignment: one odd notebook does not decide it


def defined_functions(paths: Sequence[str]) -> dict[str, tuple[int, int]]:
    """The functions the first readable submissions (up to 25) define, each with the fewest and most positional
    arguments any of them takes (empty if no submission is readable).

    A class is told by what its submissions define together: a student who renamed every function, or
    the first file being unreadable, does not stop the grader from knowing the assignment.
    """
    found: dict[str, tuple[int, int]] = {}
    read = 0
    for path in paths:
        if read == _SAMPLE:
            break
        submission = load_submission(path)
        if submission.problem is not None:
            continue
        read += 1
        for name, (fewest, most) in Notebook(submission).signatures().items():
            low, high = found.get(name, (fewest, most))
            found[name] = (min(low, fewest), max(high, most))
    return found


def extract_functions(submission: Submission, functions: Sequence[str]) -> tuple[Extraction, ...]:
    """Build the minimal runnable module for each of `functions` from `submission` (parsed once)."""
    notebook = Notebook(submission)
    return tuple(_extract(notebook, function, frozenset(functions)) for function in functions)


def _extract(notebook: Notebook, function: str, graded: frozenset[str]) -> Extraction:
    count = sum(1 for _, name, _ in notebook.definitions if name == function)
    last = max(((cell, line) for cell, name, line in notebook.definitions if name == function), default=None)
    binding = notebook.bindings.get(function)
    if last is None:
        # Another graded function is not a misspelling of this one: it is graded in its own right.
        in_order = sorted(notebook.definitions, key=lambda definition: (definition[0], definition[2]))
        defined = tuple(dict.fromkeys(name for _, name, _ in in_order))
        misses = tuple(difflib.get_close_matches(function, sorted(set(defined) - graded), n=3, cutoff=0.6))
        return _empty(function, near_misses=misses, notebook_functions=defined)
    if last[0] in notebook.broken_cells:
        problem = notebook.broken_cells[last[0]]
        definition = notebook.labels[last[0]].place(last[0], last[1], f"def {function}(...)")
        return _empty(function, count=count, syntax_error=problem, definition=definition)
    if binding is None or not isinstance(binding.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _empty(function, count=count)  # rebound to a non-function after its def: nothing to grade
    return _assemble(notebook, binding, count)


def _assemble(notebook: Notebook, graded: Binding, count: int) -> Extraction:
    needed: list[Binding] = []
    imports: list[tuple[Binding, ast.alias]] = []
    globals_read: list[str] = []
    seen: set[str] = {graded.name}
    pending = [graded]
    use_star_imports = False
    while pending:
        binding = pending.pop()
        needed.append(binding)
        for name in sorted(_free_names(binding.node)):
            if name in seen:
                continue
            seen.add(name)
            found = notebook.bindings.get(name)
            if found is None:
                if name in notebook.variables:
                    globals_read.append(name)
                else:
                    use_star_imports = True  # maybe from `from reg_utils import *`; else a NameError at run time
            elif isinstance(found.node, (ast.Import, ast.ImportFrom)):
                imports.append((found, _alias_binding(found.node, name)))
            else:
                pending.append(found)
    pieces: list[tuple[str, tuple[int, int] | None]] = []
    for binding in notebook.star_imports if use_star_imports else ():
        pieces.append((ast.unparse(binding.node), (binding.cell, binding.node.lineno)))
    for binding, alias in sorted(imports, key=_notebook_order):
        statement = _single_import(binding.node, alias)
        pieces.append((statement, (binding.cell, binding.node.lineno)))
    for binding in sorted(needed, key=_notebook_order):
        first = _first_line(binding.node)
        indent = binding.node.col_offset  # a def inside `if`/`try`/`with` is indented: bring it to the top level
        for offset, text in enumerate(binding.lines[first - 1 : binding.node.end_lineno]):
            if indent and not text[:indent].strip():
                text = text[indent:]
            pieces.append((text, (binding.cell, first + offset)))
    source = "\n".join(text for text, _ in pieces) + "\n"
    node = graded.node
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    label = notebook.labels[graded.cell]
    definition = label.place(graded.cell, _first_line(node), graded.lines[node.lineno - 1].strip())
    if parsed_source(source) is None:
        # Pieces that parse in their cells but not together (rare layouts): say so, never crash.
        problem = SyntaxProblem(definition, "SyntaxError: the function cannot be taken out of its cell")
        return _empty(graded.name, count=count, syntax_error=problem, definition=definition)
    imported = _imported_modules(source)
    return Extraction(
        function=graded.name,
        source=source,
        origins=tuple(origin for _, origin in pieces),
        definition=definition,
        definition_count=count,
        parameters=tuple(argument.arg for argument in node.args.posonlyargs + node.args.args),
        notebook_globals=tuple(sorted(globals_read)),
        placeholders=tuple(_placeholders(node, graded, label)),
        syntax_error=None,
        near_misses=(),
        imported_modules=imported,
        cells={cell: notebook.labels[cell] for cell in {origin[0] for _, origin in pieces if origin is not None}},
    )


def _imported_modules(source: str) -> tuple[str, ...]:
    modules: set[str] = set()
    tree = parsed_source(source)
    assert tree is not None  # checked by the caller
    for node in walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split(".")[0])
    return tuple(sorted(modules))


def _empty(function: str, *, count: int = 0, near_misses: tuple[str, ...] = (),
           notebook_functions: tuple[str, ...] = (), syntax_error: SyntaxProblem | None = None,
           definition: Location | None = None) -> Extraction:
    return Extraction(function, "", (), definition, count, (), (), (), syntax_error, near_misses,
                      notebook_functions=notebook_functions)


def _free_names(node: ast.stmt) -> set[str]:
    """Names `node` reads but does not bind itself (a deliberately simple view of Python scoping)."""
    loaded: set[str] = set()
    bound: set[str] = set()
    declared_global: set[str] = set()
    for sub in walk(node):
        if isinstance(sub, ast.Name):
            (loaded if isinstance(sub.ctx, ast.Load) else bound).add(sub.id)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, BINDING_STATEMENTS[:3]) and sub is not node:
            bound.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in sub.names)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bound.add(sub.name)
        elif isinstance(sub, ast.Global):
            declared_global.update(sub.names)
    return (loaded - (bound - declared_global)) - BUILTIN_NAMES


def _alias_binding(statement: ast.Import | ast.ImportFrom, name: str) -> ast.alias:
    return next(alias for alias in statement.names if (alias.asname or alias.name).split(".")[0] == name)


def _single_import(statement: ast.stmt, alias: ast.alias) -> str:
    if isinstance(statement, ast.ImportFrom):
        return ast.unparse(ast.ImportFrom(module=statement.module, names=[alias], level=statement.level))
    return ast.unparse(ast.Import(names=[alias]))


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno] + [decorator.lineno for decorator in decorators])


def _notebook_order(item) -> tuple[int, int]:
    binding = item[0] if isinstance(item, tuple) else item
    return (binding.cell, binding.node.lineno)


def _placeholders(function: ast.FunctionDef | ast.AsyncFunctionDef, binding: Binding,
                  label: CellLabel) -> list[Location]:
    """Template lines left unfinished: `name = None` or an operand that is the literal None."""
    found = []
    for node in walk(function):
        is_placeholder = (
            isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is None
        ) or (
            isinstance(node, ast.BinOp)
            and any(isinstance(side, ast.Constant) and side.value is None for side in (node.left, node.right))
        )
        if is_placeholder:
            assert isinstance(node, (ast.Assign, ast.BinOp))
            line = node.lineno
            found.append(label.place(binding.cell, line, binding.lines[line - 1].strip()))
    return sorted(set(found), key=lambda location: location.line)
