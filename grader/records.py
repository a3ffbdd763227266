"""The records the pipeline's stages pass each other: frozen dataclasses, one docstring per field.

load → Submission; extract → Extraction (with Location); run → RunOutcome; check → Trial and
CheckResult; diagnose → Detection and Finding; score → ExerciseResult and SubmissionResult.
They hold data, not behaviour: the stages that make them live in their own packages, and this
module imports nothing from the grader but the assignment model.
"""
from __future__ import annotations

import ast
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

    from grader.assignment.model import Probe

ExerciseStatus = Literal["passed", "failed", "error", "missing"]
"""passed: full marks; failed: some points lost; error: the function could not run; missing: not defined."""
SubmissionStatus = Literal["passed", "failed", "error"]
"""passed: every exercise passed; failed: some did not; error: the submission could not be read or graded."""
Part = Literal["term", "baseline", "whole"]
"""Which part of an output a mistake explains (see Detection.part)."""


# ---- load: what a student handed in ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """One code cell of a submission."""

    index: int
    """Position in the notebook's `cells` list (0-based), or 0 for a `.py` file."""
    source: str
    """The code exactly as the student wrote it."""
    number: int | None = None
    """Position among the notebook's code cells (1-based), as a student counts them; None for a `.py` file."""
    execution_count: int | None = None
    """The `In [n]` Jupyter showed when the cell last ran, if it did."""


@dataclass(frozen=True, slots=True)
class Submission:
    """What a student handed in, as code cells; `problem` says why it could not be read."""

    path: str
    """The path as given on the command line."""
    sha256: str
    """Hash of the file's bytes ("" when the file could not be read at all)."""
    cells: tuple[Cell, ...]
    """Code cells in notebook order (markdown and raw cells are dropped)."""
    problem: str | None = None
    """One-line reason the submission is unreadable, or None."""


# ---- extract: the graded function, and where its lines are --------------------------------


@dataclass(frozen=True, slots=True)
class Location:
    """A place in the student's notebook."""

    cell: int
    """Index of the cell in the notebook's `cells` list (0-based)."""
    line: int
    """Line within that cell's source (1-based)."""
    code: str
    """The student's code there (a bounded excerpt: a statement may span lines)."""
    code_cell: int | None = None
    """The cell's position among the code cells (1-based), as a student counts them; None in a `.py` file."""
    execution_count: int | None = None
    """The cell's `In [n]`, when it ran."""
    cell_first_line: str = ""
    """The cell's first non-blank line (bounded), to recognise it by."""


@dataclass(frozen=True, slots=True)
class CellLabel:
    """How a student recognises a cell (see Location)."""

    code_cell: int | None
    execution_count: int | None
    first_line: str

    def place(self, cell: int, line: int, code: str) -> Location:
        """A location in this cell."""
        return Location(cell, line, code, self.code_cell, self.execution_count, self.first_line)


UNLABELLED = CellLabel(None, None, "")
"""For a cell nothing is known of (a location made by hand)."""


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """The cell defining the graded function does not parse."""

    location: Location
    message: str


@dataclass(frozen=True, slots=True)
class Extraction:
    """A graded function pulled out of a submission, ready to run in the sandbox."""

    function: str
    """Name of the graded function."""
    source: str
    """The minimal module to execute ("" when the function was not found or does not parse)."""
    origins: tuple[tuple[int, int] | None, ...]
    """For each line of `source` (index = line - 1): (cell, line in cell), or None for generated lines."""
    definition: Location | None
    """Where the (last) definition of the function starts."""
    definition_count: int
    """How many times the notebook defines the function; the last one is graded."""
    parameters: tuple[str, ...]
    """The student's parameter names, in order."""
    notebook_globals: tuple[str, ...]
    """Names the function reads that only a top-level statement of the notebook assigns."""
    placeholders: tuple[Location, ...]
    """Template placeholders left in the function (`x = None`, `... + None`)."""
    syntax_error: SyntaxProblem | None
    """Set when the last definition sits in a cell that does not parse."""
    near_misses: tuple[str, ...]
    """When not found: similarly named functions the notebook defines."""
    imported_modules: tuple[str, ...] = ()
    """Top-level names of the modules `source` imports (to serve only the course helpers it needs)."""
    cells: Mapping[int, CellLabel] = field(default_factory=dict)
    """How a student names each cell that `origins` points into."""
    notebook_functions: tuple[str, ...] = ()
    """When not defined at all: every function the notebook defines, in notebook order (what it holds instead)."""

    @property
    def found(self) -> bool:
        """Whether there is a function to run."""
        return bool(self.source)

    def locate(self, module_line: int | None) -> Location | None:
        """Map a line of `source` (e.g. from a traceback) back to the student's notebook."""
        if module_line is None or not 1 <= module_line <= len(self.origins):
            return None
        origin = self.origins[module_line - 1]
        if origin is None:
            return None
        return self.cells.get(origin[0], UNLABELLED).place(origin[0], origin[1],
                                                            self.source.split("\n")[module_line - 1].strip())

    def module_tree(self) -> ast.Module:
        """The AST of `source` (shared: do not modify it); only for a found function."""
        tree = parsed_source(self.source)
        assert tree is not None, "extract_functions only returns sources that parse"
        return tree

    def function_node(self) -> ast.FunctionDef | None:
        """The graded function's AST, with line numbers of `source` (shared: do not modify it)."""
        tree = parsed_source(self.source) if self.found else None
        if tree is None:
            return None
        return next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == self.function),
                    None)


# ---- run: what the sandbox was asked to do, and what it did --------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """What a job's child may use."""

    wall_seconds: float = 10.0  # per job (all calls of one function)
    memory_bytes: int = 1 << 30  # address space the child may add on top of the warm worker's
    output_bytes: int = 1 << 20  # stdout+stderr the student may print
    result_bytes: int = 64 << 20  # largest encoded result accepted from the child
    scratch_bytes: int = 64 << 20  # size of the child's scratch directory, where a tmpfs is possible

    def __post_init__(self) -> None:
        # A zero wall time would disable the child's alarm rather than stop it at once.
        sizes = (self.memory_bytes, self.output_bytes, self.result_bytes, self.scratch_bytes)
        if not (0 < self.wall_seconds < math.inf and min(sizes) > 0):
            raise ValueError(f"sandbox limits must be positive and finite: {self}")


@dataclass(frozen=True, slots=True)
class Job:
    """Student code to execute and the calls to make on one of its functions."""

    source: str  # module text to execute (already extracted student code)
    filename: str  # compile() filename, so traceback line numbers are lines of `source`
    function: str  # name of the function to call after executing the module
    calls: tuple[tuple[Any, ...], ...]  # positional arguments for each call, in order
    served_modules: Mapping[str, str]  # module name -> source, importable by `source`
    calls_key: str | None = None  # names `calls`: a worker receives them once and reuses them for this key
    bindings: tuple[Mapping[str, str], ...] = ()
    """Per call (none, or one per call): names of `source`'s globals to set, before the call, to an attribute of
    a served module, `"module.attribute"` (functions the grader supplies instead of the submission's own)."""


@dataclass(frozen=True, slots=True)
class RaisedError:
    """An exception raised by student code, located in `source`."""

    type_name: str  # e.g. "NameError"
    message: str  # str(exception), at most 500 characters
    line: int | None  # innermost line of `source` on the traceback, if any
    lines: tuple[int, ...]  # every line of `source` on the traceback, outermost first


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one call of the student's function did."""

    returned: Any  # decoded return value (None when it raised)
    arguments_after: tuple[Any, ...]  # the positional arguments after the call, or () when it left them unchanged
    error: RaisedError | None  # the exception the call raised, if any


@dataclass(frozen=True, slots=True)
class RunFailure:
    """Why a run stopped before every call finished."""

    kind: str  # one of _FAILURE_KINDS
    message: str  # one line for a human, e.g. "took longer than 10 s"
    error: RaisedError | None  # where in `source`, when known
    call_index: int | None  # index of the call that was running, when known


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """Everything a job's run produced."""

    calls: tuple[CallOutcome, ...]  # one per call that finished, in order
    failure: RunFailure | None  # why the run stopped early, if it did
    output: str  # first 2000 characters of what the student printed
    seconds: float  # wall time of the child


@dataclass(frozen=True, slots=True)
class Layer:
    """One protection of the sandbox, and whether it is in force in this worker's children."""

    name: str  # one of LAYERS, e.g. "landlock-files"
    in_force: bool
    detail: str  # what it does here, or why it is not in force


# ---- check: the outputs compared with the reference ----------------------------------------


@dataclass(frozen=True, slots=True)
class Outputs:
    """A return value split into named float arrays, or the reason it cannot be."""

    values: Mapping[str, np.ndarray]
    """Output name → array (a number return is one 0-d array under the exercise's single key)."""
    missing: tuple[str, ...] = ()
    """Expected keys that are absent."""
    unknown: tuple[str, ...] = ()
    """Keys that are not expected."""
    problem: str | None = None
    """Why the value is not of the expected kind at all (None, a list instead of a dict...)."""
    note: str | None = None
    """Accepted but worth saying (e.g. a cost returned as a (1, 1) array)."""
    kinds: Mapping[str, str] = field(default_factory=dict)
    """Output name → numpy dtype kind as returned ("f" float, "i" integer, "b" boolean...)."""
    unusable: tuple[str, ...] = ()
    """With `problem`: the expected keys whose values are not arrays of numbers (e.g. left as None)."""


@dataclass(frozen=True, slots=True)
class Trial:
    """One probe, as computed by the reference and as returned by the student's function."""

    probe: Probe
    expected: Mapping[str, np.ndarray]
    """Reference outputs."""
    outcome: CallOutcome | None
    """The student's call, or None when the run stopped before reaching it."""
    got: Outputs | None
    """The student's return value split into outputs (None when the call did not return)."""
    baseline_expected: Mapping[str, np.ndarray] | None = None
    """Reference outputs with the baseline arguments (e.g. λ = 0); None when the probe is its own baseline."""
    baseline_got: Outputs | None = None
    """The student's outputs with the baseline arguments."""
    label: str = ""
    """What was run, as the student reads it (the probe and its hyper-parameters)."""
    baseline_label: str = ""
    """The same for the call with the baseline arguments."""
    baseline_arguments: tuple[Any, ...] | None = None
    """The arguments of the baseline call (the probe's with the baseline substitutions), when there is one."""

    @property
    def returned(self) -> bool:
        """Whether the student's call returned a value of the expected kind."""
        return self.got is not None and self.got.problem is None


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one scored check."""

    name: str
    passed: bool
    score: float
    max_score: float
    message: str


# ---- diagnose: what the numbers prove, and the findings ------------------------------------


@dataclass(frozen=True, slots=True)
class Detection:
    """What a detector proved: which outputs a mistake explains, and the numbers that show it."""

    outputs: tuple[str, ...]
    evidence: str
    details: Mapping[str, str] = field(default_factory=dict)
    """Values for `{placeholders}` in the mistake's prose."""
    sources: tuple[str, ...] = ()
    """Parameters (spec names) the faulty term is built from, besides the baseline ones (e.g. `parameters`)."""
    variable: str | None = None
    """Point at the assignment of this variable instead (a spec parameter name means the student's own name)."""
    explains_errors: bool = False
    """The mistake also accounts for calls that raised (a shape clash on some probes)."""
    part: Part = "term"
    """Which part of each output the mistake explains: what the baseline argument adds ("term", e.g. the λ
    term), the output at the baseline ("baseline"), or both ("whole"). Unless `variable` says otherwise, a
    finding points at the line building the term, or for "baseline" at the line computing the output."""
    absent: bool = False
    """The mistake is a term left out: point at the line where the output is put together."""
    calls: tuple[str, ...] = ()
    """Point at the statements calling one of these (e.g. `randn`, as `np.random.randn(...)`) that the outputs are
    computed from."""
    given_upstream: bool = False
    """Its outputs were judged from the student's own upstream outputs (dA1 from their dZ2): a mistake upstream
    does not explain them, so the finding stands even when an upstream output is wrong too."""
    aspects: tuple[str, ...] = ()
    """Independent components of that part it explains (e.g. one layer's share of a sum); () means all."""
    right_values: tuple[str, ...] = ()
    """With `variable`: the values it may rightly be assigned (in spec parameter names, e.g. `Y.shape[1]`).
    When the numbers fit this mistake and another equally, code that reads `variable` assigned otherwise
    shows this one, and code assigning it one of these shows it is not this one."""

    points_at: tuple[str, ...] = ()
    """Variables of the student's code whose assignments hold the mistake: the finding quotes every statement
    assigning (or assigning into) any of them, when the function has some."""
    line: int | None = None
    """A line of the extracted module to point at (e.g. where the call raised), when no `points_at` applies."""

    def claims(self) -> frozenset[tuple[str, str, str]]:
        """What it explains, as (output, part, aspect) triples; aspect "" stands for every aspect."""
        return frozenset((output, self.part, aspect) for output in self.outputs for aspect in self.aspects or ("",))


@dataclass(frozen=True, slots=True)
class Comparison:
    """An output's expected and returned values on one call, drawn as pictures (grader.feedback.heatmap)."""

    output: str
    title: str
    """The output ("grad"), or the part the non-baseline arguments add to it when that part is the wrong one."""
    call: str  # what was run ("" when not shown, see grader.feedback.audience)
    shape: tuple[int, int]  # of the entries below: a vector is one row, a big output its top-left block
    whole_shape: tuple[int, ...]  # the output's own
    expected: tuple[float, ...] | None  # the reference's entries, row by row (NaN if not finite); None: not shown
    got: tuple[float, ...] | None  # the student's, likewise
    difference: tuple[float, ...]
    """got − expected; where expected and got are not shown, only its pattern: divided by its largest entry."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One explained mistake, as the student will read it."""

    id: str | None
    """Catalog id (../shared/MISTAKES.md), or None for a generic description."""
    title: str
    outputs: tuple[str, ...]
    """The outputs this mistake makes wrong."""
    location: Location | None
    """The student's line that causes it, when known."""
    evidence: str
    """What proves it: numbers from the outputs (`numeric`), or what happened when the code was read or run."""
    explanation: str
    """Why it is wrong ("" when there is nothing to say beyond the evidence)."""
    fix: str
    math: str = ""
    """The key formula in LaTeX, when the mistake's prose has one."""
    numeric: bool = True
    """The evidence is numbers from the outputs (not a message from reading or running the code)."""
    alternatives: tuple[str, ...] = ()
    """Other catalog ids that explain the same numbers exactly, which the code does not rule out."""
    locations: tuple[Location, ...] = ()
    """Further lines with the same mistake, when there are several (e.g. each argument changed in place)."""
    comparisons: tuple[Comparison, ...] = ()  # wrong array outputs, one call each, for pictures


# ---- score: the grades ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExerciseResult:
    """The grade of one graded function."""

    function: str
    title: str
    score: float
    max_score: float
    status: str
    """"passed" (full marks), "failed", "error" (could not run) or "missing" (not defined)."""
    checks: tuple[CheckResult, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    """Things worth telling that cost nothing (a function defined twice, a (1, 1) cost)."""


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """The grade of one submission."""

    path: str
    sha256: str
    assignment: str
    assignment_title: str
    score: float
    max_score: float
    status: str
    """"passed", "failed", or "error" when the submission could not be read at all."""
    exercises: tuple[ExerciseResult, ...]
    errors: tuple[tuple[str, str], ...] = ()
    """(kind, message) for problems with the submission as a whole."""
    sandbox: tuple[str, ...] = ()
    """The isolation layers in force while this submission ran (see grader.sandbox.describe_sandbox)."""
    sandbox_user: str = ""
    """Which user the student's code ran as, and why that one (the unprivileged-user layer's line)."""



@functools.lru_cache(maxsize=32)
def parsed_source(source: str) -> ast.Module | None:
    """The AST of a module's source, or None when it does not parse (shared and cached: never modify it)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
