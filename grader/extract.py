"""Extract a graded function from a submission into a minimal module, by AST, without running anything.

The module holds the function, the notebook's own functions and classes it needs
(transitively), and the imports that bind names it uses. Every other top-level statement
(training loops, plots, tests, data loading) is left out. Each line of the module maps back
to (cell, line in cell), so feedback can quote the student's own line.
"""
from __future__ import annotations

import ast
import builtins
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from grader.load import Submission
from grader.records import CellLabel, Extraction, Location, SyntaxProblem, parsed_source
from grader.repeats import RepeatCache
from grader.syntax import depth, walk

_BUILTIN_NAMES = frozenset(dir(builtins))
# IPython-only lines: magics (%, %%), shell escapes (!), help (name? / ?name).
_IPYTHON_LINE = re.compile(r"^\s*(%|!|\?)|^[^#'\"]*\?\s*$")
_BINDING_STATEMENTS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
# Python ends lines at \n, \r\n and \r only; str.splitlines() also splits at \f, \x1c, \u2028, ...,
# which may sit inside a string literal.
_NEWLINE = re.compile(r"\r\n|\r|\n")
# Deeper syntax trees are refused: no honest code nests this far, and the recursive parts of
# Python (compile, ast.dump) overflow on them.
MAX_SYNTAX_DEPTH = 200




@dataclass(frozen=True, slots=True)
class _Binding:
    """A top-level statement of the notebook that binds a name."""

    name: str
    cell: int
    node: ast.stmt
    lines: tuple[str, ...]  # the sanitized lines of the cell


class _Notebook:
    """The submission's parsed cells and its top-level bindings, in notebook order."""

    def __init__(self, submission: Submission) -> None:
        self.bindings: dict[str, _Binding] = {}  # last binding of each name wins, as when cells run in order
        self.variables: set[str] = set()
        self.star_imports: list[_Binding] = []
        self.definitions: list[tuple[int, str, int]] = []  # (cell, name, line) of every def, parsed or not
        self.broken_cells: dict[int, SyntaxProblem] = {}
        self.labels = {cell.index: CellLabel(cell.number, cell.execution_count, _first_line_of(cell.source))
                       for cell in submission.cells}
        for cell in submission.cells:
            code = _sanitize(cell.source)
            lines = tuple(code.split("\n"))
            try:
                statements = _cell_statements(code)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
                self._remember_broken(cell.index, cell.source, lines, error)
                continue
            for statement in statements:
                self._bind(cell.index, statement, lines)

    def _remember_broken(self, cell: int, raw: str, lines: tuple[str, ...], error: Exception) -> None:
        line = getattr(error, "lineno", None) or 1
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        if isinstance(error, (RecursionError, MemoryError)):
            message = f"RecursionError: the code is nested too deeply to analyse (over {MAX_SYNTAX_DEPTH} levels)"
        elif isinstance(error, SyntaxError):
            message = f"{type(error).__name__}: {error.msg}"
        else:
            message = f"{type(error).__name__}: {str(error)[:200]}"
        self.broken_cells[cell] = SyntaxProblem(self.labels[cell].place(cell, line, text), message)
        for match in re.finditer(r"^\s*(?:async\s+)?def\s+(\w+)\s*\(", raw, re.MULTILINE):
            self.definitions.append((cell, match.group(1), raw.count("\n", 0, match.start()) + 1))

    def _bind(self, cell: int, statement: ast.stmt, lines: tuple[str, ...]) -> None:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [statement.name]
            if not isinstance(statement, ast.ClassDef):
                self.definitions.append((cell, statement.name, statement.lineno))
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in statement.names):
                self.star_imports.append(_Binding("*", cell, statement, lines))
                return
            names = [(alias.asname or alias.name).split(".")[0] for alias in statement.names]
        elif _literal_constant(statement) is not None:
            names = [_literal_constant(statement) or ""]
        else:
            for name in _assigned_names(statement):
                self.bindings.pop(name, None)
                self.variables.add(name)
            return
        for name in names:
            self.variables.discard(name)
            self.bindings[name] = _Binding(name, cell, statement, lines)


def _parse_cell(code: str) -> tuple[ast.stmt, ...]:
    """A cell's top-level statements, looking inside `if`/`try`/`with` blocks."""
    statements = tuple(_top_level_statements(ast.parse(code).body))
    # Only definitions are ever walked in depth (and run): check their nesting, not the whole cell's.
    for statement in statements:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            _check_depth(statement)
    return statements


# Most cells of a class's notebooks are the template's, unchanged: each is parsed once per grading
# process (the trees are shared, and never modified). Failures are not kept; neither are long cells.
_CELLS: RepeatCache[tuple[ast.stmt, ...]] = RepeatCache(64)  # about 7 MB at most
_CACHED_CELL_CHARS = 20_000


def _cell_statements(code: str) -> tuple[ast.stmt, ...]:
    if len(code) > _CACHED_CELL_CHARS:
        return _parse_cell(code)
    statements = _CELLS.get(code)
    if statements is None:
        statements = _parse_cell(code)
        _CELLS.put(code, statements)
    return statements


def extract_functions(submission: Submission, functions: Sequence[str]) -> tuple[Extraction, ...]:
    """Build the minimal runnable module for each of `functions` from `submission` (parsed once)."""
    notebook = _Notebook(submission)
    return tuple(_extract(notebook, function, frozenset(functions)) for function in functions)


def _extract(notebook: _Notebook, function: str, graded: frozenset[str]) -> Extraction:
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


def _assemble(notebook: _Notebook, graded: _Binding, count: int) -> Extraction:
    needed: list[_Binding] = []
    imports: list[tuple[_Binding, ast.alias]] = []
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
           notebook_functions: tuple[str, ...] = (), syntax_error: SyntaxProblem | None = None, definition: Location | None = None) -> Extraction:
    return Extraction(function, "", (), definition, count, (), (), (), syntax_error, near_misses,
                      notebook_functions=notebook_functions)


def _sanitize(source: str) -> str:
    """Blank out IPython-only lines, keeping line numbers, so the rest parses as Python."""
    return "\n".join("" if _IPYTHON_LINE.match(line) else line for line in _NEWLINE.split(source))


def _check_depth(tree: ast.AST) -> None:
    """Raise RecursionError when the tree nests deeper than MAX_SYNTAX_DEPTH (checked without recursing)."""
    if depth(tree) - 1 > MAX_SYNTAX_DEPTH:
        raise RecursionError(f"nested more than {MAX_SYNTAX_DEPTH} levels")


def _top_level_statements(body: list[ast.stmt]):
    """Top-level statements, looking inside `if`/`try`/`with` blocks, where imports and defs often hide."""
    for statement in body:
        if isinstance(statement, (ast.If, ast.Try, ast.With)):
            yield from _top_level_statements(statement.body)
            if isinstance(statement, ast.Try):
                for handler in statement.handlers:
                    yield from _top_level_statements(handler.body)
            if isinstance(statement, (ast.If, ast.Try)):
                yield from _top_level_statements(statement.orelse)
        else:
            yield statement


def _assigned_names(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds, looking at its targets only (a value can be huge and deep)."""
    if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):  # a training loop assigns globals in its body
        inner = {name for child in statement.body + statement.orelse for name in _assigned_names(child)}
        return inner | (_assigned_names(ast.Assign([statement.target], ast.Constant(None)))
                        if isinstance(statement, (ast.For, ast.AsyncFor)) else set())
    if isinstance(statement, ast.Assign):
        targets: list[ast.AST] = list(statement.targets)
    elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        targets = [statement.target]
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in statement.items if item.optional_vars is not None]
    elif isinstance(statement, ast.Delete):
        targets = list(statement.targets)
    else:
        return set()
    return {node.id for target in targets for node in walk(target) if isinstance(node, ast.Name)}


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
        elif isinstance(sub, _BINDING_STATEMENTS[:3]) and sub is not node:
            bound.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in sub.names)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bound.add(sub.name)
        elif isinstance(sub, ast.Global):
            declared_global.update(sub.names)
    return (loaded - (bound - declared_global)) - _BUILTIN_NAMES


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


def _placeholders(function: ast.FunctionDef | ast.AsyncFunctionDef, binding: _Binding, label: CellLabel) -> list[Location]:
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


def _first_line_of(source: str, limit: int = 60) -> str:
    line = next((text.strip() for text in _NEWLINE.split(source) if text.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


_CONSTANT_CHARS = 200


def _literal_constant(statement: ast.stmt) -> str | None:
    """The name a top-level `NAME = <literal>` binds (a number, a short string...), or None.

    Such constants are taken into the extracted module with the functions that read them: they run
    nothing, and the function then behaves as it does in the notebook.
    """
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)):
        return None
    value = statement.value
    if (statement.end_col_offset or 0) - statement.col_offset > _CONSTANT_CHARS or statement.end_lineno != statement.lineno:
        return None
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd)):
        value = value.operand
    if isinstance(value, ast.Constant) and isinstance(value.value, (int, float, str, bool, type(None))):
        return statement.targets[0].id
    return None
