"""Assignment specs: a YAML file plus instructor modules in `reference/<name>/`, validated once at load.

Loading a spec executes the instructor's modules (reference solutions, probe generators), so
it must happen only after the sandbox worker has been started: the worker must never hold
reference code in its memory.
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from grader.detect import Detector, collect_detectors, detector_for
from grader.errors import SpecError

SPEC_FILE = "assignment.yaml"


def builtin_assignments_folder() -> Path:
    """Where the assignments shipped with the grader live (source checkout or installed package)."""
    package = Path(__file__).resolve().parent
    installed = package / "reference"
    return installed if installed.is_dir() else package.parent / "reference"


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
    """Check-specific settings, validated against the check's declared options."""


@dataclass(frozen=True, slots=True)
class Probe:
    """One seeded input to a graded function."""

    name: str
    """Short human-readable description (layer sizes, m, λ)."""
    arguments: tuple[Any, ...]
    """Positional arguments, in the function's parameter order."""


@dataclass(frozen=True, slots=True)
class MistakeText:
    """Student-facing prose for one catalog mistake."""

    title: str
    explanation: str
    fix: str
    math: str = ""
    """The key formula in LaTeX, for renderers that typeset math (the explanation says it in plain text too)."""


@dataclass(frozen=True, slots=True)
class Exercise:
    """One graded function of an assignment."""

    function: str
    title: str
    parameters: tuple[str, ...]
    """The expected parameter names, in order (students may rename them; calls are positional)."""
    points: float
    returns: str
    """"number" (a scalar) or "dict"."""
    keys: tuple[str, ...]
    """For dict returns: the expected keys, in backward order (the order a chain rule visits them)."""
    baseline: Mapping[str, Any]
    """Arguments to replace for a second call per probe (e.g. lambd: 0) separating the added term from the rest."""
    tolerance: Tolerance
    checks: tuple[CheckSpec, ...]
    reference: Callable[..., Any]
    probes: tuple[Probe, ...]
    mistakes: Mapping[str, MistakeText]
    """Catalog ids this exercise can report, with their prose."""
    detectors: Mapping[str, Detector]
    """Catalog id → the detector that recognises it from the outputs."""
    depends_on: Mapping[str, tuple[str, ...]]
    """Output → the outputs it is computed from, so a wrong output downstream of a wrong one is not blamed twice."""
    baseline_mistake: str | None = None
    """Catalog id for an output wrong even with the baseline arguments when no detector explains it."""
    baseline_mistake_text: MistakeText | None = None

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
    resolve: Callable[[str], Callable[..., Any]]
    """Look up `file.py:name` in the assignment's modules (for checks that name instructor code)."""


_TOP_KEYS = {"name": str, "title": str, "helpers": dict, "detectors": (str, list), "exercises": list, "mistakes": dict}
_HELPER_KEYS = {"source": str, "serves": list}
_EXERCISE_KEYS = {
    "function": str, "title": str, "parameters": list, "points": (int, float), "reference": str,
    "probes": str, "returns": str, "keys": list, "baseline": dict, "tolerance": dict, "checks": list,
    "mistakes": list, "depends_on": dict, "baseline_mistake": str,
}
_REQUIRED_EXERCISE_KEYS = {"function", "parameters", "points", "reference", "probes", "returns", "checks"}
_MISTAKE_KEYS = {"title": str, "explanation": str, "fix": str, "math": str}


def find_assignment(name_or_path: str | None, submission_text: str = "") -> Path:
    """The folder of an assignment given by name or path; with None, the built-in one the text mentions."""
    if name_or_path:
        candidate = Path(name_or_path)
        if candidate.is_file() and candidate.name == SPEC_FILE:
            return candidate.parent
        if (candidate / SPEC_FILE).is_file():
            return candidate
        builtin = builtin_assignments_folder() / name_or_path
        if (builtin / SPEC_FILE).is_file():
            return builtin
        known = f"built in: {', '.join(_builtin_names()) or 'none'}"
        if candidate.is_dir():
            raise SpecError(f"the folder {name_or_path} has no {SPEC_FILE}, so it is not an assignment ({known})")
        if candidate.is_file():
            raise SpecError(f"{name_or_path} is a file: give the folder that holds {SPEC_FILE}, or its {SPEC_FILE}")
        raise SpecError(f"no assignment named {name_or_path!r} ({known})")
    names = _builtin_names()
    if not names:
        raise SpecError(f"no assignments in {builtin_assignments_folder()}")
    folders = [builtin_assignments_folder() / name for name in names]
    if len(folders) == 1:
        return folders[0]  # nothing to choose: don't read its spec twice
    # Detect by which assignment's function names appear most in the submission.
    return max(folders, key=lambda folder: sum(f in submission_text for f in _function_names(folder)))


def sample_text(paths: Sequence[str]) -> str:
    """The start of the first readable submission, to detect the assignment from its function names."""
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                return file.read(4 << 20)
        except OSError:
            continue
    return ""


def _builtin_names() -> list[str]:
    root = builtin_assignments_folder()
    return sorted(entry.name for entry in root.iterdir() if (entry / SPEC_FILE).is_file()) if root.is_dir() else []


def _function_names(folder: Path) -> list[str]:
    data = _read_yaml(folder / SPEC_FILE)
    return [str(exercise.get("function")) for exercise in data.get("exercises", []) if isinstance(exercise, dict)]


def load_assignment(folder: Path) -> Assignment:
    """Read, validate and load the assignment in `folder`; any problem raises SpecError."""
    spec_path = folder / SPEC_FILE
    data = _read_yaml(spec_path)
    where = str(spec_path)
    _check_keys(data, _TOP_KEYS, {"name", "title", "helpers", "exercises"}, where, "")
    helpers = data["helpers"]
    _check_keys(helpers, _HELPER_KEYS, {"source", "serves"}, where, "helpers")
    helper_path = folder / helpers["source"]
    if not helper_path.is_file():
        raise SpecError(f"helper source {helpers['source']!r} not found", path=where, key="helpers.source")
    helper_source = helper_path.read_text(encoding="utf-8")
    try:
        helper_names = _public_names(ast.parse(helper_source))
    except SyntaxError as error:
        raise SpecError(f"helper source does not parse: {error}", path=where, key="helpers.source") from None
    mistakes = _load_mistakes(data.get("mistakes", {}), where)
    package = _load_package(folder, data["name"])

    def resolve(reference: str) -> Callable[..., Any]:
        return _resolve(package, reference, where)

    files = data.get("detectors", [])
    detectors: dict[str, Detector] = {}
    for file_name in [files] if isinstance(files, str) else files:
        if not isinstance(file_name, str):
            raise SpecError("must be a file name or a list of file names", path=where, key="detectors")
        try:
            found = collect_detectors(_import(package, file_name, where))
        except ValueError as error:
            raise SpecError(str(error), path=where, key="detectors") from None
        twice = sorted(set(found) & set(detectors))
        if twice:
            raise SpecError(f"two detectors for {', '.join(twice)} ({file_name} and another file)", path=where,
                            key="detectors")
        detectors.update(found)

    exercises = tuple(
        _load_exercise(entry, f"exercises[{index}]", where, resolve, mistakes, detectors)
        for index, entry in enumerate(data["exercises"])
    )
    if not exercises:
        raise SpecError("no exercises", path=where, key="exercises")
    return Assignment(
        name=data["name"],
        title=data["title"],
        folder=folder,
        exercises=exercises,
        helper_source=helper_source,
        helper_modules=tuple(str(name) for name in helpers["serves"]),
        helper_names=helper_names,
        fingerprint=_fingerprint(folder),
        resolve=resolve,
    )


def _public_names(tree: ast.Module) -> frozenset[str]:
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in statement.names)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.update(node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name))
    return frozenset(name for name in names if not name.startswith("_") and name != "*")


def _read_yaml(path: Path) -> dict:
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as error:
        raise SpecError(f"cannot read spec: {error}", path=str(path)) from None
    if not isinstance(data, dict):
        raise SpecError("the spec must be a mapping", path=str(path))
    return data


def _check_keys(data: object, allowed: Mapping[str, Any], required: set[str], where: str, key: str) -> None:
    if not isinstance(data, dict):
        raise SpecError("must be a mapping", path=where, key=key or None)
    prefix = f"{key}." if key else ""
    for name, value in data.items():
        if name not in allowed:
            raise SpecError(f"unknown key (allowed: {', '.join(sorted(allowed))})", path=where, key=prefix + str(name))
        if not isinstance(value, allowed[name]):
            raise SpecError(f"wrong type {type(value).__name__}", path=where, key=prefix + name)
    for name in sorted(required - data.keys()):
        raise SpecError("missing required key", path=where, key=prefix + name)


def _load_mistakes(data: object, where: str) -> dict[str, MistakeText]:
    if not isinstance(data, dict):
        raise SpecError("must be a mapping of id to prose", path=where, key="mistakes")
    texts = {}
    for mistake_id, entry in data.items():
        _check_keys(entry, _MISTAKE_KEYS, {"title", "explanation", "fix"}, where, f"mistakes.{mistake_id}")
        texts[str(mistake_id)] = MistakeText(**{k: v.strip() for k, v in entry.items()})
    return texts


def _load_exercise(entry: object, key: str, where: str, resolve: Callable[[str], Callable[..., Any]],
                   mistakes: Mapping[str, MistakeText], detectors: Mapping[str, Detector]) -> Exercise:
    from grader.checks import CHECKS  # the registry validates each check's options

    _check_keys(entry, _EXERCISE_KEYS, _REQUIRED_EXERCISE_KEYS, where, key)
    assert isinstance(entry, dict)
    parameters = tuple(str(name) for name in entry["parameters"])
    returns = entry["returns"]
    if returns not in ("number", "dict"):
        raise SpecError("must be 'number' or 'dict'", path=where, key=f"{key}.returns")
    keys = tuple(str(name) for name in entry.get("keys", ()))
    if returns == "dict" and not keys:
        raise SpecError("a dict return needs its keys", path=where, key=f"{key}.keys")
    baseline = dict(entry.get("baseline", {}))
    for name in baseline:
        if name not in parameters:
            raise SpecError(f"{name!r} is not a parameter", path=where, key=f"{key}.baseline")
    tolerance_data = entry.get("tolerance", {})
    _check_keys(tolerance_data, {"rtol": (int, float), "atol": (int, float)}, set(), where, f"{key}.tolerance")
    checks = []
    for index, check in enumerate(entry["checks"]):
        check_key = f"{key}.checks[{index}]"
        _check_keys(check, {"check": str, "title": str, "points": (int, float), "options": dict},
                    {"check", "title", "points"}, where, check_key)
        definition = CHECKS.get(check["check"])
        if definition is None:
            raise SpecError(f"unknown check {check['check']!r} (known: {', '.join(sorted(CHECKS))})",
                            path=where, key=check_key)
        options = dict(check.get("options", {}))
        definition.validate(options, where, check_key)
        checks.append(CheckSpec(check["check"], check["title"], float(check["points"]), options))
    total = sum(check.points for check in checks)
    if abs(total - float(entry["points"])) > 1e-9:
        raise SpecError(f"check points add up to {total:g}, not {entry['points']:g}", path=where, key=f"{key}.points")
    own_mistakes, own_detectors = {}, {}
    for mistake_id in entry.get("mistakes", ()):
        if mistake_id not in mistakes:
            raise SpecError(f"no prose for mistake {mistake_id!r} under 'mistakes'", path=where, key=f"{key}.mistakes")
        detector = detector_for(mistake_id, detectors)
        if detector is None:
            raise SpecError(f"no detector registered for {mistake_id!r}", path=where, key=f"{key}.mistakes")
        own_mistakes[mistake_id] = mistakes[mistake_id]
        own_detectors[mistake_id] = detector
    baseline_mistake = entry.get("baseline_mistake")
    if baseline_mistake is not None and baseline_mistake not in mistakes:
        raise SpecError(f"no prose for mistake {baseline_mistake!r}", path=where, key=f"{key}.baseline_mistake")
    depends_on = {str(output): tuple(str(name) for name in inputs) for output, inputs in entry.get("depends_on", {}).items()}
    for output, inputs in depends_on.items():
        if not set(inputs) | {output} <= set(keys):
            raise SpecError(f"{output!r} depends on unknown outputs", path=where, key=f"{key}.depends_on")
    probes_function = resolve(entry["probes"])
    probes = tuple(Probe(str(probe["name"]), tuple(probe["arguments"])) for probe in probes_function())
    if any(len(probe.arguments) != len(parameters) for probe in probes) or not probes:
        raise SpecError("probes must give one argument per parameter", path=where, key=f"{key}.probes")
    return Exercise(
        function=entry["function"],
        title=str(entry.get("title", entry["function"])),
        parameters=parameters,
        points=float(entry["points"]),
        returns=returns,
        keys=keys,
        baseline=baseline,
        tolerance=Tolerance(**{k: float(v) for k, v in tolerance_data.items()}),
        checks=tuple(checks),
        reference=resolve(entry["reference"]),
        probes=probes,
        mistakes=own_mistakes,
        detectors=own_detectors,
        depends_on=depends_on,
        baseline_mistake=baseline_mistake,
        baseline_mistake_text=mistakes.get(baseline_mistake) if baseline_mistake else None,
    )


def _load_package(folder: Path, name: str) -> types.ModuleType:
    """Make the assignment folder a private package, so its modules can import each other relatively."""
    package_name = f"_grader_assignment_{hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12]}"
    package = sys.modules.get(package_name)
    if package is None:
        package = types.ModuleType(package_name, f"assignment {name}")
        package.__path__ = [str(folder)]
        sys.modules[package_name] = package
    return package


def _import(package: types.ModuleType, file_name: str, where: str) -> types.ModuleType:
    if not file_name.endswith(".py"):
        raise SpecError(f"{file_name!r} is not a .py file", path=where)
    try:
        return importlib.import_module(f"{package.__name__}.{file_name[:-3]}")
    except Exception as error:  # instructor code: any failure is a spec error, reported with its cause
        raise SpecError(f"cannot load {file_name}: {type(error).__name__}: {error}", path=where) from error


def _resolve(package: types.ModuleType, reference: str, where: str) -> Callable[..., Any]:
    file_name, _, attribute = reference.partition(":")
    if not attribute:
        raise SpecError(f"{reference!r} must look like 'file.py:name'", path=where)
    module = _import(package, file_name, where)
    value = getattr(module, attribute, None)
    if not callable(value):
        raise SpecError(f"{file_name} has no function {attribute!r}", path=where)
    return value


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)
