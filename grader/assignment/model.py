"""The assignment spec as frozen records: what is graded, on which inputs, with which checks and prose.

Standard library only, and nothing from the grader: every stage reads these, so they sit at the
bottom of the imports. `grader.assignment.loader` builds them from a folder and validates them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ReturnKind = Literal["number", "array", "dict", "tuple"]


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How close a value must be to the reference: |got − expected| ≤ atol + rtol·|expected|."""

    rtol: float = 1e-6
    atol: float = 1e-9


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One scored check of an exercise."""

    kind: str
    """Registered check name (see grader.checks)."""
    title: str
    """What the check verifies, as the student reads it."""
    points: float
    options: Mapping[str, Any]
    """Check-specific settings, validated against the check's declared options (`file.py:name` already resolved)."""


@dataclass(frozen=True, slots=True)
class Probe:
    """One seeded input to a graded function."""

    name: str
    """Short human-readable description of the input (its shapes and sizes)."""
    arguments: tuple[Any, ...]
    """Positional arguments, in the function's parameter order."""
    replacements: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    """For an exercise that `replaces` functions: name → the provided helper that stands for it on this probe."""


@dataclass(frozen=True, slots=True)
class MistakeText:
    """Student-facing prose for one catalog mistake."""

    title: str
    explanation: str
    fix: str
    math: str = ""
    """The key formula in LaTeX, for renderers that typeset math (the explanation says it in plain text too)."""


@dataclass(frozen=True, slots=True)
class Returned:
    """What a graded function returns: a number, an array, a dict of arrays, or a tuple of those, with names.

    Every numeric leaf is one named *output*. A dict's outputs are its keys; a tuple's elements
    are named in order, and the outputs of an element that is itself a tuple or a dict are
    prefixed with its name (`cache.D1`).
    """

    kind: ReturnKind
    name: str = ""
    """The output's name for a number or an array; the element's name (the prefix) for a nested container."""
    items: tuple[Returned, ...] = ()
    """A dict's values (one per key, named by it) or a tuple's elements, in order."""

    def outputs(self) -> tuple[str, ...]:
        """Every output name, in order."""
        return tuple(self.paths())

    def paths(self, prefix: str = "") -> dict[str, tuple[str | int, ...]]:
        """Output name → how to reach it in the value: dict keys (str) and tuple positions (int)."""
        if self.kind in ("number", "array"):
            return {prefix + self.name: ()}
        found: dict[str, tuple[str | int, ...]] = {}
        inner = f"{prefix}{self.name}." if self.name else prefix
        for position, item in enumerate(self.items):
            step: str | int = item.name if self.kind == "dict" else position
            for output, path in item.paths(inner).items():
                found[output] = (step, *path)
        return found

    def describe(self) -> str:
        """What is expected, as a student reads it ("a number", "a dict with the keys a, b")."""
        if self.kind == "number":
            return "a number"
        if self.kind == "array":
            return "an array of numbers"
        names = ", ".join(item.name for item in self.items)
        return f"a dict with the keys {names}" if self.kind == "dict" else f"a tuple of {len(self.items)}: {names}"


@dataclass(frozen=True, slots=True)
class Draws:
    """Random 0/1 draws a graded function makes and returns (dropout masks, say): it is judged on its own draws.

    The expected outputs of a call are the reference's given the student's draws, so any valid way
    of drawing them is right. A draw is valid when it is a 0/1 array shaped like the output it masks
    and, with at least `min_units` entries, keeps a share of ones within `sigmas` standard deviations
    of the probability the function is given (grader.checks.draws judges it).
    """

    outputs: Mapping[str, str]
    """Each output that is a draw (e.g. `cache.D1`) → the output whose shape it has (`cache.A1`)."""
    probability: str
    """The parameter giving the probability of a one (e.g. `keep_prob`)."""
    reference: Callable[..., Any]
    """The reference given the draws: reference(*arguments, *draws) → what the function should return."""
    min_units: int = 5000
    sigmas: float = 5.0


@dataclass(frozen=True, slots=True)
class Exercise:
    """One graded function of an assignment."""

    function: str
    title: str
    parameters: tuple[str, ...]
    """The expected parameter names, in order (students may rename them; calls are positional)."""
    points: float
    returns: Returned
    baseline: Mapping[str, Any]
    """Arguments to replace for a second call per probe, separating what they add from the rest (a
    penalty's strength set to 0, say)."""
    tolerance: Tolerance
    checks: tuple[CheckSpec, ...]
    reference: Callable[..., Any]
    probes: tuple[Probe, ...]
    mistakes: Mapping[str, MistakeText]
    """Catalog ids this exercise can report, with their prose (and overrides of the engine's generic prose)."""
    detectors: Mapping[str, Callable[..., Any]]
    """Catalog id → the detector that recognises it from the outputs (see grader.diagnose.detectors)."""
    depends_on: Mapping[str, tuple[str, ...]]
    """Output → the outputs it is computed from, so a wrong output downstream of a wrong one is not blamed twice."""
    baseline_mistake: str | None = None
    """Catalog id for an output wrong even with the baseline arguments when no detector explains it."""
    baseline_mistake_text: MistakeText | None = None
    student_draws: Draws | None = None
    """The random draws it makes, when it is judged on its own draws (see Draws)."""
    general_prose: Mapping[str, MistakeText] = field(default_factory=dict)
    """The assignment's own wording of the findings every function can have (`uses-notebook-global`, ...),
    used instead of the engine's generic one."""
    replaces: tuple[str, ...] = ()
    """Functions the graded function calls that the grader supplies, per probe, from the provided helpers instead
    of the submission's own (given code, or another graded function: judged there, not twice). The reference
    and the variants receive them as keyword arguments."""
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    """The parameters that are settings rather than data (λ, ε, keep_prob) → each one's neutral value (λ = 0,
    keep_prob = 1), or None when it has none: `grade check-spec` wants probes that vary them and try the neutral
    value. By default, the baseline's."""
    variants: Mapping[str, tuple[Callable[..., Any], ...]] = field(default_factory=dict)
    """Catalog id → wrong implementations that make that mistake (see grader.diagnose.variants): they detect it,
    and `grade check-spec` runs them to see which mistakes the probes tell apart."""

    def call_reference(self, probe: Probe, arguments: tuple[Any, ...]) -> Any:
        """The reference's answer to `arguments` (a probe's, or its baseline variant), with the probe's
        replacements."""
        return self.reference(*arguments, **probe.replacements)

    @property
    def keys(self) -> tuple[str, ...]:
        """The output names, in order (see Returned)."""
        return self.returns.outputs()

    def ancestors(self, output: str) -> set[str]:
        """Every output `output` is computed from, directly or not (from `depends_on`)."""
        seen: set[str] = set()
        pending = list(self.depends_on.get(output, ()))
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(self.depends_on.get(current, ()))
        return seen

    def call_label(self, probe: Probe, arguments: tuple[Any, ...]) -> str:
        """What was run, for a student: the probe's name and the baseline parameters' values in this call."""
        shown = ", ".join(f"{name} = {_shown(arguments[self.parameters.index(name)])}" for name in self.baseline)
        return f"{probe.name}, {shown}" if shown else probe.name

    def baseline_arguments(self, probe: Probe) -> tuple[Any, ...] | None:
        """The probe's arguments with the baseline substitutions, or None when they change nothing."""
        if not self.baseline:
            return None
        arguments = list(probe.arguments)
        changed = False
        for name, value in self.baseline.items():
            index = self.parameters.index(name)
            if arguments[index] != value:
                arguments[index] = value
                changed = True
        return tuple(arguments) if changed else None


@dataclass(frozen=True, slots=True)
class Assignment:
    """A validated assignment spec with its instructor code loaded."""

    name: str
    title: str
    folder: Path
    exercises: tuple[Exercise, ...]
    helper_source: str
    """Source of the course's provided helpers, served to student code under `helper_modules`."""
    helper_modules: tuple[str, ...]
    helper_names: frozenset[str]
    """The public names the helper source defines at its top level (what a served module exports)."""
    fingerprint: str
    """Hash of every file of the assignment, so cached results can tell a changed spec."""
    prose_ids: frozenset[str] = frozenset()
    """Every id the spec's `mistakes:` words, listed by an exercise or not."""
    strict_rng: bool = False
    """Judge functions that draw at random on the reference's own draws (the same seed, the same calls) instead
    of on the student's: the course's seed-exact comparison (--strict-rng asks for it too)."""


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)
