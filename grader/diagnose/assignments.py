"""Which assignments of a function hold a value that counts: not the room made for later writes, not a value
overwritten before anything reads it. For pointing at lines only (grader.diagnose.locate)."""
from __future__ import annotations

import ast

from grader.extract.syntax import walk


def dead_stores(function: ast.AST) -> set[ast.stmt]:
    """Assignments of a name that a later statement of the same block rebinds before anything reads it (the
    value never counts: `total = a` then `total = b` keeps b)."""
    dead: set[ast.stmt] = set()
    for node in walk(function):
        for block in (getattr(node, field, None) for field in ("body", "orelse", "finalbody")):
            if not isinstance(block, list):
                continue
            for index, statement in enumerate(block):
                if not isinstance(statement, ast.Assign) or not all(isinstance(t, ast.Name) for t in statement.targets):
                    continue
                names = {target.id for target in statement.targets if isinstance(target, ast.Name)}
                for later in block[index + 1:]:
                    if names & names_read_in(later):
                        break
                    rebound = {t.id for t in later.targets if isinstance(t, ast.Name)} if isinstance(
                        later, ast.Assign) else set()
                    if names <= rebound:
                        dead.add(statement)
                        break
    return dead


def names_read_in(statement: ast.stmt) -> set[str]:
    """Every name the statement reads, in nested expressions too."""
    return {n.id for n in walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


_PLACEHOLDERS = frozenset({"zeros", "zeros_like", "empty", "empty_like", "ones", "ones_like", "full", "full_like"})


def is_placeholder(value: ast.expr) -> bool:
    """`np.zeros(...)`, `np.empty_like(x)`, `[]`, `{}`, `0`, `None`: room made for values written in later."""
    if isinstance(value, ast.Call):
        function = value.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
        return name in _PLACEHOLDERS
    return isinstance(value, ast.Constant) or isinstance(value, (ast.List, ast.Dict)) and not (
        value.elts if isinstance(value, ast.List) else value.keys)
