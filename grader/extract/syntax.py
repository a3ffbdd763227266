"""Walks of syntax trees, each done once: extraction, diagnosis and run reuse look at the same trees many times.

The trees walked here are shared (grader.extract parses each module once) and never modified,
so a root's walk is kept on the root itself.
"""
from __future__ import annotations

import ast

_AST = ast.AST
_KEPT_ON = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)  # roots walked again and again


def walk(node: ast.AST) -> list[ast.AST]:
    """Every node under `node`, itself included, in the order of ast.walk (breadth first), without recursion."""
    return _walked(node)[0]


def depth(node: ast.AST) -> int:
    """How many levels the tree under `node` has (1 for a leaf)."""
    return _walked(node)[1]


def _walked(node: ast.AST) -> tuple[list[ast.AST], int]:
    kept = node.__dict__.get("_grader_walk")
    if kept is not None:
        return kept
    walked = _walk(node)
    if isinstance(node, _KEPT_ON):
        node.__dict__["_grader_walk"] = walked
    return walked


def _walk(root: ast.AST) -> tuple[list[ast.AST], int]:
    nodes = [root]
    level_start, levels = 0, 1
    while True:
        level_end = len(nodes)
        for index in range(level_start, level_end):
            current = nodes[index]
            for name in current._fields:
                value = getattr(current, name, None)
                if isinstance(value, _AST):
                    nodes.append(value)
                elif type(value) is list:
                    nodes.extend(item for item in value if isinstance(item, _AST))
        if len(nodes) == level_end:
            return nodes, levels
        level_start, levels = level_end, levels + 1
