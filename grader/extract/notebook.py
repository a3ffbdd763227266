"""A notebook's top-level bindings, as a student's cells define them, read by AST without running anything.

`Notebook` parses each code cell once (template cells repeat across a class: they are parsed
once per grading process), blanks IPython-only lines, and records what each top-level
statement binds: functions, classes, imports and literal constants, the last binding of a
name winning as when the cells run in order.
"""
from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass

from grader.extract.syntax import depth, walk
from grader.records import CellLabel, Submission, SyntaxProblem
from grader.repeats import RepeatCache

BUILTIN_NAMES = frozenset(dir(builtins))
MANY_ARGUMENTS = 1 << 16
"""The most positional arguments of a function with *args, as far as anyone calls it."""


# IPython-only lines: magics (%, %%), shell escapes (!), help (name? / ?name).
_IPYTHON_LINE = re.compile(r"^\s*(%|!|\?)|^[^#'\"]*\?\s*$")


BINDING_STATEMENTS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


# Python ends lines at \n, \r\n and \r only; str.splitlines() also splits at \f, \x1c, \u2028, ...,
# which may sit inside a string literal.
_NEWLINE = re.compile(r"\r\n|\r|\n")


# Deeper syntax trees are refused: no honest code nests this far, and the recursive parts of
# Python (compile, ast.dump) overflow on them.
MAX_SYNTAX_DEPTH = 200


@dataclass(frozen=True, slots=True)
class Binding:
    """A top-level statement of the notebook that binds a name."""

    name: str
    cell: int
    node: ast.stmt
    lines: tuple[str, ...]  # the sanitized lines of the cell


class Notebook:
    """The submission's parsed cells and its top-level bindings, in notebook order."""

    def __init__(self, submission: Submission) -> None:
        self.bindings: dict[str, Binding] = {}  # last binding of each name wins, as when cells run in order
        self.variables: set[str] = set()
        self.star_imports: list[Binding] = []
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

    def signatures(self) -> dict[str, tuple[int, int]]:
        """Each function the notebook binds last, with the fewest and most positional arguments it takes (to tell
        which assignment it is: `def f(a, b, step=0.1, verbose=False)` takes 2 to 4)."""
        found = {}
        for name, binding in self.bindings.items():
            if isinstance(binding.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                arguments = binding.node.args
                positional = len(arguments.posonlyargs) + len(arguments.args)
                found[name] = (positional - len(arguments.defaults),
                               MANY_ARGUMENTS if arguments.vararg is not None else positional)
        return found

    def _bind(self, cell: int, statement: ast.stmt, lines: tuple[str, ...]) -> None:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [statement.name]
            if not isinstance(statement, ast.ClassDef):
                self.definitions.append((cell, statement.name, statement.lineno))
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in statement.names):
                self.star_imports.append(Binding("*", cell, statement, lines))
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
            self.bindings[name] = Binding(name, cell, statement, lines)


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
    width = (statement.end_col_offset or 0) - statement.col_offset
    if width > _CONSTANT_CHARS or statement.end_lineno != statement.lineno:
        return None
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd)):
        value = value.operand
    if isinstance(value, ast.Constant) and isinstance(value.value, (int, float, str, bool, type(None))):
        return statement.targets[0].id
    return None
