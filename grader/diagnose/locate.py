"""Point at the student's line: follow returned values and helper variables through the function's AST.

Locating never decides a verdict; the numbers do (grader.diagnose). The one exception is
`Locator.variable_verdict`, which tells two mistakes apart that the numbers fit equally well.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence

from grader.assignment.model import Exercise
from grader.diagnose.assignments import dead_stores, is_placeholder
from grader.extract.syntax import walk
from grader.records import Extraction, Location, RaisedError

_ASSIGNMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign)


class Locator:
    """Finds the statements of one extracted function that a finding is about."""

    def __init__(self, exercise: Exercise, extraction: Extraction) -> None:
        self.exercise = exercise
        self.extraction = extraction
        self.node = extraction.function_node()

    def student_name(self, name: str) -> str:
        """The student's name for a spec parameter (they may rename parameters); other names as they are."""
        parameters = self.exercise.parameters
        if name in parameters and len(self.extraction.parameters) >= len(parameters):  # calls are positional
            return self.extraction.parameters[parameters.index(name)]
        return name

    def assignment(self, variable: str, before_output: str | None = None) -> Location | None:
        """The last assignment to `variable` in the function (before the output's line, when known), else
        the module-level constant the function reads under that name."""
        statement = self._assignment_statement(variable, before_output)
        if statement is not None:
            return self.extraction.locate(statement.lineno)
        constant = self._module_constant(variable)
        return self.extraction.locate(constant.lineno) if constant is not None else None

    def assignments_to(self, names: Sequence[str]) -> list[Location]:
        """Every statement of the function that assigns, or assigns into, one of `names` (spec parameter names
        stand for the student's), in order."""
        if self.node is None:
            return []
        wanted = {self.student_name(name) for name in names}
        statements = sorted((n for n in walk(self.node) if isinstance(n, _ASSIGNMENTS)
                             and wanted & {root_name(target) for target in _targets(n)}), key=lambda n: n.lineno)
        # `J = np.zeros(n)` only makes room for what later statements write into J: the mistake is in those.
        filled = {root_name(target) for n in statements for target in _targets(n) if not isinstance(target, ast.Name)}
        overwritten = dead_stores(self.node)
        statements = [n for n in statements if n not in overwritten
                      and not (is_placeholder(_value_of(n)) and {root_name(t) for t in _targets(n)} <= filled)]
        return [location for location in (self.extraction.locate(n.lineno) for n in statements) if location]

    def _assignment_statement(self, variable: str, before_output: str | None = None) -> ast.stmt | None:
        if self.node is None:
            return None
        limit = None
        if before_output is not None:
            statement = self._output_statement(before_output)
            limit = statement.lineno if statement is not None else None
        found = [n for n in walk(self.node) if isinstance(n, _ASSIGNMENTS) and _binds(n, variable)
                 and (limit is None or n.lineno <= limit)]
        return max(found, key=lambda n: n.lineno) if found else None

    def _module_constant(self, variable: str) -> ast.stmt | None:
        """A top-level assignment of the extracted module (a notebook constant the function reads)."""
        tree = self.extraction.module_tree()
        found = [n for n in tree.body if isinstance(n, _ASSIGNMENTS) and _binds(n, variable)]
        return found[-1] if found else None

    def variable_verdict(self, variable: str, right_values: Sequence[str], output: str) -> bool | None:
        """Whether the code computing `output` reads `variable` with a value other than `right_values`.

        True: it reads it, assigned otherwise (or not assigned in the function at all); False: it does
        not read it, or assigns it one of the right values; None: the code cannot tell.
        """
        if self.node is None:
            return None
        name = self.student_name(variable)
        statement = self._output_statement(output)
        if statement is None:
            return None
        if name not in self._names_read(statement):
            return False
        assigned = self._assignment_statement(name, output)
        if assigned is None:
            if any(argument.arg == name for argument in self.node.args.args):
                return None  # an argument: its value is the caller's
            return True  # a notebook constant, or nothing at all
        value = _assigned_value(assigned, name)
        if value is None:
            return None
        rights = {ast.dump(_renamed(ast.parse(right, mode="eval").body, self.student_name)) for right in right_values}
        if ast.dump(value) in rights:
            return False
        if any(ast.dump(part) in rights for part in ast.walk(value)):
            return None  # built from a right value in some way the code alone cannot settle
        return True

    def _names_read(self, statement: ast.stmt, depth: int = 5) -> set[str]:
        """Names a statement's value reads, directly or through the function's earlier assignments."""
        assert self.node is not None
        names: set[str] = set()
        pending = [(statement, depth)]
        while pending:
            current, left = pending.pop()
            reads = {n.id for n in walk(_value_of(current)) if isinstance(n, ast.Name)}
            names |= reads
            if left:
                for variable in reads:
                    helper = _last_assignment(self.node, ast.Name(id=variable, ctx=ast.Load(), lineno=current.lineno))
                    if helper is not None:
                        pending.append((helper, left - 1))
        return names

    def term(self, name: str, sources: tuple[str, ...] = ()) -> Location | None:
        """The statement building the part of output `name` that depends on the baseline argument (λ).

        Follows simple data flow: `term = alpha * np.sum(w)` then `grad = ... + term` points at `term = ...`.
        """
        node = self.node
        if node is None:
            return None
        statement = self._output_statement(name)
        if statement is None:
            return self.output(name)
        parameters = {self.student_name(parameter) for parameter in (*self.exercise.baseline, *sources)}
        for _ in range(5):  # a short chain of helper variables at most
            reads = {n.id for n in walk(_value_of(statement)) if isinstance(n, ast.Name)}
            if reads & parameters:
                break
            found = (_last_assignment(node, ast.Name(id=variable, ctx=ast.Load(), lineno=statement.lineno))
                     for variable in sorted(reads))
            # Descend into helpers that compute from the sources, not into ones that merely unpack them
            # (`w = params["w"]`, `(..., w, ...) = cache`).
            helpers = [helper for helper in found if helper is not None and _depends_on(node, helper, parameters)
                       and root_name(_value_of(helper)) not in parameters]
            if not helpers:
                break
            statement = max(helpers, key=lambda helper: helper.lineno)
        return self.extraction.locate(statement.lineno)

    def assembly(self, name: str) -> Location | None:
        """Where output `name` is put together, for a term that is absent: the assignment of the returned name
        (`cost = ce + ...`), or the return itself when that name is a call's result (`return compute_cost(...)`'s
        value is finished: a missing term belongs where it is returned)."""
        node = self.node
        if node is None:
            return None
        returns = [n for n in walk(node) if isinstance(n, ast.Return) and n.value is not None]
        statement = self._output_statement(name)
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call) and returns \
                and self.exercise.returns.kind in ("number", "array"):
            statement = max(returns, key=lambda n: n.lineno)
        return self.extraction.locate(statement.lineno) if statement is not None else self.output(name)

    def _output_statement(self, name: str) -> ast.stmt | None:
        node = self.node
        if node is None:
            return None
        expression = _returned_expression(node, self.exercise.returns.paths().get(name, ()))
        if expression is None:
            return None
        statement = _last_assignment(node, expression)
        if statement is None:
            return next((n for n in walk(node) if isinstance(n, ast.Return) and n.lineno == expression.lineno), None)
        return statement

    def output(self, name: str) -> Location | None:
        """The statement that computes output `name`: follow the returned dict (or value) to its last assignment."""
        node = self.node
        if node is None:
            return None
        expression = _returned_expression(node, self.exercise.returns.paths().get(name, ()))
        statement = _last_assignment(node, expression) if expression is not None else None
        line = statement.lineno if statement is not None else (expression.lineno if expression is not None else None)
        return self.extraction.locate(line) or self.returned()

    def returned(self) -> Location | None:
        """Where the returned value is built: `grads = {...}` for `return grads`, else the return itself."""
        node = self.node
        returns = [n for n in walk(node) if isinstance(n, ast.Return)] if node else []
        if not returns:
            return self.extraction.definition
        last = max(returns, key=lambda n: n.lineno)
        built = _last_assignment(node, last.value) if node is not None and last.value is not None else None
        return self.extraction.locate((built or last).lineno)

    def calls(self, names: Sequence[str], outputs: Sequence[str]) -> list[Location]:
        """The statements calling a function named one of `names` (`randn`, as `np.random.randn(...)`) that the
        outputs are computed from: followed back from each output's statement, through the names it reads."""
        node = self.node
        if node is None:
            return []
        wanted = set(names)

        def called(statement: ast.stmt) -> set[str]:
            names = {call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
                     for call in walk(statement) if isinstance(call, ast.Call)}
            return {str(name) for name in names} & wanted

        found: dict[int, ast.stmt] = {}
        pending = [(statement, 8) for statement in map(self._output_statement, outputs) if statement is not None]
        seen: set[int] = set()
        while pending:
            statement, left = pending.pop()
            if id(statement) in seen:
                continue
            seen.add(id(statement))
            if called(statement):
                found[statement.lineno] = statement
                continue  # a call drawing the value: what it reads (shapes) is not the mistake
            if left == 0:
                continue
            reads = {n.id for n in walk(_value_of(statement)) if isinstance(n, ast.Name)}
            for variable in sorted(reads):
                source = _last_assignment(node, ast.Name(id=variable, ctx=ast.Load(), lineno=statement.lineno))
                if source is not None:
                    pending.append((source, left - 1))
        locations = (self.extraction.locate(line) for line in sorted(found))
        return [location for location in locations if location is not None]

    def mutations(self) -> list[tuple[str, Location]]:
        """(argument, line) of every in-place write to an argument or to a name bound to part of one
        (`w = params["w"]` then `w **= 2` writes to `params`)."""
        node = self.node
        if node is None:
            return []
        argument_of = {argument.arg: argument.arg for argument in node.args.args}  # alias → the argument it is part of
        found = []
        for statement in sorted((n for n in walk(node) if isinstance(n, ast.stmt)), key=lambda n: n.lineno):
            if isinstance(statement, ast.Assign) and root_name(statement.value) in argument_of:
                argument = argument_of[root_name(statement.value) or ""]
                argument_of.update((n.id, argument) for target in statement.targets for n in walk(target)
                                   if isinstance(n, ast.Name))
            written = _written_in_place(statement, set(argument_of))
            location = self.extraction.locate(statement.lineno) if written is not None else None
            if written is not None and location is not None:
                found.append((argument_of[written], location))
        return found

    def loop_around(self, module_line: int | None) -> Location | None:
        """The header of the innermost loop containing a line: where a time-out is best explained."""
        node = self.node
        if node is None or module_line is None:
            return None
        loops = [n for n in walk(node) if isinstance(n, (ast.While, ast.For))
                 and n.lineno <= module_line <= (n.end_lineno or n.lineno)]
        return self.extraction.locate(max(loops, key=lambda n: n.lineno).lineno) if loops else None

    def error(self, error: RaisedError | None) -> Location | None:
        """The student's line a raised error points at."""
        return self.extraction.locate(error.line) if error is not None else None

    def stores(self, name: str) -> bool:
        """Whether the function assigns `name` anywhere."""
        return self.node is not None and any(
            isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in walk(self.node))

    def lines(self) -> Iterator[tuple[int, str]]:
        """(module line, text) of each line of the function."""
        if self.node is None:
            return
        source_lines = self.extraction.source.splitlines()
        for line in range(self.node.lineno, (self.node.end_lineno or self.node.lineno) + 1):
            yield line, source_lines[line - 1]


def _written_in_place(statement: ast.stmt, aliases: set[str]) -> str | None:
    """The alias a statement changes in place (`w **= 2`, `w[0] = 0`, `np.square(w, out=w)`), or None."""
    if isinstance(statement, ast.AugAssign):
        return root_name(statement.target) if root_name(statement.target) in aliases else None
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Subscript) and root_name(target) in aliases:
                return root_name(target)
    if isinstance(statement, (ast.For, ast.If, ast.While)):
        return None  # their bodies' statements are looked at one by one
    for call in walk(statement):
        if isinstance(call, ast.Call):
            for keyword in call.keywords:
                if keyword.arg == "out" and root_name(keyword.value) in aliases:
                    return root_name(keyword.value)
    return None


def _returned_expression(function: ast.FunctionDef, path: tuple[str | int, ...]) -> ast.expr | None:
    """The expression that supplies an output in what the function returns, following its path (dict keys, tuple
    positions) through literals, and names to their last assignment (`return grads`, `grads = {...}`)."""
    returns = [n for n in walk(function) if isinstance(n, ast.Return) and n.value is not None]
    if not returns:
        return None
    value = returns[-1].value
    for step in path:
        if isinstance(value, ast.Name):
            built = _last_assignment(function, value)
            if not isinstance(built, ast.Assign):
                return _subscript_assignment(function, value, step) if isinstance(step, str) else None
            value = built.value
        if isinstance(step, str) and isinstance(value, ast.Dict):
            value = next((item for key, item in zip(value.keys, value.values)
                          if isinstance(key, ast.Constant) and key.value == step), None)
        elif isinstance(step, int) and isinstance(value, (ast.Tuple, ast.List)) and step < len(value.elts):
            value = value.elts[step]
        else:
            return None
        if value is None:
            return None
    return value


def _subscript_assignment(function: ast.FunctionDef, container: ast.expr, name: str) -> ast.expr | None:
    """`result["total"] = ...` style: the value assigned to that key."""
    found = None
    for node in walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant)
                        and target.slice.value == name and ast.dump(target.value) == ast.dump(container)):
                    found = node.value
    return found


def _last_assignment(function: ast.FunctionDef, expression: ast.expr | None) -> ast.stmt | None:
    """The last statement assigning the name `expression` is (if it is a bare name)."""
    if not isinstance(expression, ast.Name):
        return None
    last = None
    for node in walk(function):
        if isinstance(node, _ASSIGNMENTS):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for target in targets for n in walk(target) if isinstance(n, ast.Name)}
            later = last is None or node.lineno > last.lineno
            if expression.id in names and node.lineno < expression.lineno and later:
                last = node
    return last


def _value_of(statement: ast.stmt) -> ast.expr:
    value = getattr(statement, "value", None)
    return value if isinstance(value, ast.expr) else ast.Constant(None)


def _targets(statement: ast.Assign | ast.AugAssign | ast.AnnAssign) -> list[ast.expr]:
    """What a statement assigns to, tuples unpacked (`a, b[i] = ...` → a, b[i])."""
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    return [item for target in targets
            for item in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target])]


def _binds(statement: ast.Assign | ast.AugAssign | ast.AnnAssign, variable: str) -> bool:
    """`variable = ...`, `variable op= ...`, or `variable` among names unpacked (`n, m = Y.shape`)."""
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    return any(isinstance(target, ast.Name) and target.id == variable
               or isinstance(target, (ast.Tuple, ast.List))
               and any(isinstance(item, ast.Name) and item.id == variable for item in target.elts)
               for target in targets)


def _shape_of(statement: ast.stmt) -> ast.expr | None:
    """`Y.shape` for `... = Y.shape` or `... = np.shape(Y)`; None otherwise."""
    value = _value_of(statement)
    if isinstance(value, ast.Attribute) and value.attr == "shape":
        return value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "shape" \
            and len(value.args) == 1 and not value.keywords:
        return ast.Attribute(value=value.args[0], attr="shape", ctx=ast.Load())
    return None


def _assigned_value(statement: ast.stmt, variable: str) -> ast.expr | None:
    """The expression `variable` gets: the value itself, or `Y.shape[i]` for `..., variable, ... = Y.shape`."""
    if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], (ast.Tuple, ast.List)):
        shape = _shape_of(statement)
        names = [item.id if isinstance(item, ast.Name) else None for item in statement.targets[0].elts]
        if shape is None or variable not in names:
            return None  # unpacked from something else: its value cannot be read off the code
        return ast.Subscript(value=shape, slice=ast.Constant(names.index(variable)), ctx=ast.Load())
    if isinstance(statement, ast.AugAssign):
        return None
    return _value_of(statement)


def _renamed(expression: ast.expr, rename) -> ast.expr:
    for node in ast.walk(expression):
        if isinstance(node, ast.Name):
            node.id = rename(node.id)
    return expression


def _depends_on(function: ast.FunctionDef, statement: ast.stmt, names: set[str], depth: int = 3) -> bool:
    """Whether a statement's value reads one of `names`, directly or through a few local variables."""
    reads = {n.id for n in walk(_value_of(statement)) if isinstance(n, ast.Name)}
    if reads & names:
        return True
    if depth == 0:
        return False
    for variable in reads:
        helper = _last_assignment(function, ast.Name(id=variable, ctx=ast.Load(), lineno=statement.lineno))
        if helper is not None and _depends_on(function, helper, names, depth - 1):
            return True
    return False


def root_name(expression: ast.expr) -> str | None:
    """`w` for `w`, `w[0]`, `w.T` or `cache[2]`; None for anything computed."""
    while isinstance(expression, (ast.Subscript, ast.Attribute, ast.Starred)):
        expression = expression.value
    if isinstance(expression, ast.Tuple):
        return None
    return expression.id if isinstance(expression, ast.Name) else None
