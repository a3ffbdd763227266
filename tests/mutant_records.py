"""What a mutant notebook is made of, and what the grader must find in it (tests/mutants.py builds them)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expected:
    """A finding the grader must report: its id, the outputs it names, and a fragment of the line it quotes."""

    id: str
    outputs: tuple[str, ...]
    line: str
    exercise: str = ""
    """The graded function it belongs to, for ids shared by every function (e.g. `not-implemented`)."""


@dataclass(frozen=True)
class Mutant:
    """Slots of each graded function replaced (see the *_source functions), and the findings they must get."""

    name: str
    cost: dict = field(default_factory=dict)
    backward: dict = field(default_factory=dict)
    expected: tuple[Expected, ...] = ()
    renamed: bool = False
    """Written with other variable names (grads, ce, penalty, l2_term) and a renamed λ parameter."""
    notebook_code: str = ""
    """A top-level cell before the graded functions (e.g. a constant they read)."""
    forward: dict = field(default_factory=dict)
    """Slots of forward_propagation_with_dropout (tests/dropout_mutants.py)."""
    dropout_backward: dict = field(default_factory=dict)
    """Slots of backward_propagation_with_dropout."""
