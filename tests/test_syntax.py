"""Tree walks done once: the same nodes in the same order as ast.walk, and the depth that guards recursion."""
from __future__ import annotations

import ast

from grader.extract.syntax import depth, walk

from conftest import ROOT


def test_walk_visits_what_ast_walk_visits_in_the_same_order():
    for path in sorted((ROOT / "grader").glob("*.py")) + sorted((ROOT / "reference").rglob("*.py")):
        tree = ast.parse(path.read_text())
        assert [id(node) for node in walk(tree)] == [id(node) for node in ast.walk(tree)], path
        statement = tree.body[-1]
        assert [id(node) for node in walk(statement)] == [id(node) for node in ast.walk(statement)], path


def test_depth_counts_levels_without_recursing():
    assert depth(ast.Name("x")) == 1
    assert depth(ast.parse("x")) == 4  # Module, Expr, Name, its context
    chain = ast.parse("+".join(["1"] * 500))  # Module, Expr, 499 nested BinOps, their operands
    assert depth(chain) == 502


def test_a_walk_is_kept_on_the_roots_walked_again_and_again_only():
    tree = ast.parse("def f(x):\n    return x + 1\n")
    assert walk(tree) is walk(tree)
    function = tree.body[0]
    assert walk(function) is walk(function)
    returned = function.body[0]
    assert walk(returned) is not walk(returned) and walk(returned) == walk(returned)
