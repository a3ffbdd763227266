"""Load an assignment: its spec (checked by grader.assignment.schema) and its instructor modules, once.

Loading executes the instructor's modules (reference solutions, probe generators, detectors),
so it must happen only after the sandbox worker has been started: the worker must never hold
reference code in its memory. Every `file.py:name` the spec names (check options included) is
resolved here, so a broken spec fails at load with the file and key, never halfway through a batch.
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from grader.assignment.model import Assignment, CheckSpec, Draws, Exercise, MistakeText, Probe, Tolerance
from grader.assignment.schema import (
    CHECK_KEYS,
    DRAWS_KEYS,
    EXERCISE_KEYS,
    HELPER_KEYS,
    REQUIRED_DRAWS_KEYS,
    REQUIRED_EXERCISE_KEYS,
    SPEC_FILE,
    TOP_KEYS,
    check_keys,
    read_mistakes,
    read_returns,
    read_spec,
)
from grader.checks import CHECKS
from grader.diagnose.detectors import Detector, collect_detectors, detector_for
from grader.diagnose.messages import GENERAL_MISTAKES
from grader.diagnose.variants import Variant, assign_variants, collect_variants, variant_detector
from grader.errors import SpecError

Resolve = Callable[[str, str], Callable[..., Any]]
"""(`file.py:name`, the spec key naming it) → the instructor's function."""


def load_assignment(folder: Path) -> Assignment:
    """Read, validate and load the assignment in `folder`; any problem raises SpecError."""
    spec_path = folder / SPEC_FILE
    data = read_spec(spec_path)
    where = str(spec_path)
    check_keys(data, TOP_KEYS, {"name", "title", "exercises"}, where, "")
    # Without helpers, the course gives students no module of its own: nothing is served.
    helpers = data.get("helpers", {"source": "", "serves": []})
    check_keys(helpers, HELPER_KEYS, {"source", "serves"}, where, "helpers")
    helper_source, helper_names = "", frozenset[str]()
    if helpers["source"]:
        helper_path = folder / helpers["source"]
        if not helper_path.is_file():
            raise SpecError(f"helper source {helpers['source']!r} not found", path=where, key="helpers.source")
        helper_source = helper_path.read_text(encoding="utf-8")
        try:
            helper_names = _public_names(ast.parse(helper_source))
        except SyntaxError as error:
            raise SpecError(f"helper source does not parse: {error}", path=where, key="helpers.source") from None
    mistakes = read_mistakes(data.get("mistakes", {}), where)
    # Ids without a prefix are the findings any function can have: the assignment may word them its own way.
    general = {mistake_id: text for mistake_id, text in mistakes.items() if "." not in mistake_id}
    unknown = sorted(set(general) - set(GENERAL_MISTAKES))
    if unknown:
        raise SpecError(f"{', '.join(unknown)}: not an id of a general finding ({', '.join(sorted(GENERAL_MISTAKES))})"
                        " and without a prefix such as 'cost.'", path=where, key="mistakes")
    package = _load_package(folder, data["name"])

    def resolve(reference: str, key: str) -> Callable[..., Any]:
        return _resolve(package, reference, where, key)

    detectors = _load_detectors(package, data.get("detectors", []), where)
    variants = _load_variants(package, data, where)
    context = _Context(where, resolve, mistakes, detectors, general,
                       lambda: _helpers_module(package, helpers["source"], where), variants)
    exercises = tuple(_load_exercise(entry, f"exercises[{index}]", context)
                      for index, entry in enumerate(data["exercises"]))
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
        prose_ids=frozenset(mistakes),
        strict_rng=bool(data.get("strict_rng", False)),
    )


def _load_detectors(package: types.ModuleType, files: object, where: str) -> dict[str, Detector]:
    detectors: dict[str, Detector] = {}
    for file_name in [files] if isinstance(files, str) else files if isinstance(files, list) else [None]:
        if not isinstance(file_name, str):
            raise SpecError("must be a file name or a list of file names", path=where, key="detectors")
        found = collect_detectors(_import(package, file_name, where, "detectors"), where)
        twice = sorted(set(found) & set(detectors))
        if twice:
            raise SpecError(f"two detectors for {', '.join(twice)} ({file_name} and another file)", path=where,
                            key="detectors")
        detectors.update(found)
    return detectors


def _helpers_module(package: types.ModuleType, source: str, where: str) -> types.ModuleType:
    if not source:
        raise SpecError("an exercise replaces functions by provided helpers, but the spec has no helpers",
                        path=where, key="helpers")
    return _import(package, source, where, "helpers.source")


def _load_variants(package: types.ModuleType, data: dict, where: str) -> dict[str, dict[str, tuple[Variant, ...]]]:
    """Graded function → mistake id → its variants, from the files the spec's `variants:` names."""
    files = data.get("variants", [])
    implementations: list[Variant] = []
    for file_name in [files] if isinstance(files, str) else files:
        if not isinstance(file_name, str):
            raise SpecError("must be a file name or a list of file names", path=where, key="variants")
        implementations.extend(collect_variants(_import(package, file_name, where, "variants")))
    listed = {str(entry.get("function")): [str(mistake) for mistake in entry.get("mistakes", ())]
              for entry in data["exercises"] if isinstance(entry, dict) and isinstance(entry.get("mistakes", []), list)}
    return assign_variants(implementations, listed, where)


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


def _load_checks(entry: dict, key: str, where: str, resolve: Resolve) -> tuple[CheckSpec, ...]:
    checks = []
    for index, check in enumerate(entry["checks"]):
        check_key = f"{key}.checks[{index}]"
        check_keys(check, CHECK_KEYS, {"check", "title", "points"}, where, check_key)
        definition = CHECKS.get(check["check"])
        if definition is None:
            raise SpecError(f"unknown check {check['check']!r} (known: {', '.join(sorted(CHECKS))})",
                            path=where, key=check_key)
        if definition.needs is not None and definition.needs not in entry:
            raise SpecError(f"check {definition.name!r} needs the exercise's {definition.needs!r}", path=where,
                            key=check_key)
        options = dict(check.get("options", {}))
        definition.validate(options, where, check_key)
        for option in definition.references:
            if option in options:
                options[option] = resolve(options[option], f"{check_key}.options.{option}")
        checks.append(CheckSpec(check["check"], check["title"], float(check["points"]), options))
    total = sum(check.points for check in checks)
    if abs(total - float(entry["points"])) > 1e-9:
        raise SpecError(f"check points add up to {total:g}, not {entry['points']:g}", path=where, key=f"{key}.points")
    return tuple(checks)


def _load_draws(entry: dict, key: str, where: str, resolve: Resolve, parameters: tuple[str, ...],
                keys: tuple[str, ...]) -> Draws:
    spec, draws_key = entry["student_draws"], f"{key}.student_draws"
    check_keys(spec, DRAWS_KEYS, REQUIRED_DRAWS_KEYS, where, draws_key)
    outputs = {str(name): str(like) for name, like in spec["outputs"].items()}
    unknown = sorted((set(outputs) | set(outputs.values())) - set(keys))
    if not outputs or unknown:
        raise SpecError("must map some of the function's outputs to outputs shaped alike"
                        + (f"; not an output: {', '.join(unknown)}" if unknown else ""), path=where,
                        key=f"{draws_key}.outputs")
    if spec["probability"] not in parameters:
        raise SpecError(f"{spec['probability']!r} is not a parameter", path=where, key=f"{draws_key}.probability")
    return Draws(outputs, spec["probability"], resolve(spec["reference"], f"{draws_key}.reference"),
                 spec.get("min_units", 5000), float(spec.get("sigmas", 5.0)))


@dataclass(frozen=True)
class _Context:
    """What loading an exercise needs from the whole spec."""

    where: str
    resolve: Resolve
    mistakes: Mapping[str, MistakeText]
    detectors: Mapping[str, Detector]
    general: Mapping[str, MistakeText]
    helpers: Callable[[], types.ModuleType]
    """The provided helpers as a module (loaded only for an exercise that replaces functions by them)."""
    variants: Mapping[str, Mapping[str, tuple[Variant, ...]]]
    """Graded function → mistake id → its variants."""


def _load_exercise(entry: object, key: str, context: _Context) -> Exercise:
    where, resolve, mistakes, detectors = context.where, context.resolve, context.mistakes, context.detectors
    check_keys(entry, EXERCISE_KEYS, REQUIRED_EXERCISE_KEYS, where, key)
    assert isinstance(entry, dict)
    parameters = tuple(str(name) for name in entry["parameters"])
    returns = read_returns(entry["returns"], entry.get("keys"), where, f"{key}.returns")
    keys = returns.outputs()
    baseline = dict(entry.get("baseline", {}))
    hyperparameters = dict(entry.get("hyperparameters", baseline))
    for name in (*baseline, *hyperparameters):
        if name not in parameters:
            raise SpecError(f"{name!r} is not a parameter", path=where,
                            key=f"{key}.{'baseline' if name in baseline else 'hyperparameters'}")
    tolerance_data = entry.get("tolerance", {})
    check_keys(tolerance_data, {"rtol": (int, float), "atol": (int, float)}, set(), where, f"{key}.tolerance")
    own_mistakes, own_detectors = {}, {}
    own_variants = context.variants.get(str(entry["function"]), {})
    for mistake_id in entry.get("mistakes", ()):
        if mistake_id not in mistakes:
            raise SpecError(f"no prose for mistake {mistake_id!r} under 'mistakes'", path=where, key=f"{key}.mistakes")
        detector = detector_for(mistake_id, detectors)
        if detector is None and mistake_id in own_variants:
            detector = variant_detector(mistake_id, own_variants[mistake_id])
        if detector is None:
            raise SpecError(f"no detector registered for {mistake_id!r}, and no variant makes it", path=where,
                            key=f"{key}.mistakes")
        own_mistakes[mistake_id] = mistakes[mistake_id]
        own_detectors[mistake_id] = detector
    baseline_mistake = entry.get("baseline_mistake")
    if baseline_mistake is not None and baseline_mistake not in mistakes:
        raise SpecError(f"no prose for mistake {baseline_mistake!r}", path=where, key=f"{key}.baseline_mistake")
    depends_on = {str(output): tuple(str(name) for name in inputs)
                  for output, inputs in entry.get("depends_on", {}).items()}
    for output, inputs in depends_on.items():
        if not set(inputs) | {output} <= set(keys):
            raise SpecError(f"{output!r} depends on unknown outputs", path=where, key=f"{key}.depends_on")
    draws = _load_draws(entry, key, where, resolve, parameters, keys) if "student_draws" in entry else None
    checks = _load_checks(entry, key, where, resolve)
    reference = resolve(entry["reference"], f"{key}.reference")
    probes_function = resolve(entry["probes"], f"{key}.probes")
    try:
        made = list(probes_function())
        probes = tuple(Probe(str(probe["name"]), tuple(probe["arguments"])) for probe in made)
    except Exception as error:  # instructor code: any failure is a spec error, reported with its cause
        raise SpecError(f"the probes could not be made: {type(error).__name__}: {error}", path=where,
                        key=f"{key}.probes") from error
    replaces = tuple(str(name) for name in entry.get("replaces", ()))
    if replaces:
        probes = _with_replacements(probes, made, replaces, context.helpers(), where, key)
    elif any("replacements" in probe for probe in made):
        raise SpecError("probes give replacements, but the exercise replaces no function", path=where,
                        key=f"{key}.replaces")
    if any(len(probe.arguments) != len(parameters) for probe in probes) or not probes:
        raise SpecError("probes must give one argument per parameter", path=where, key=f"{key}.probes")
    return Exercise(
        function=entry["function"],
        title=str(entry.get("title", entry["function"])),
        parameters=parameters,
        points=float(entry["points"]),
        returns=returns,
        baseline=baseline,
        tolerance=Tolerance(**{k: float(v) for k, v in tolerance_data.items()}),
        checks=checks,
        reference=reference,
        probes=probes,
        mistakes=own_mistakes,
        detectors=own_detectors,
        depends_on=depends_on,
        baseline_mistake=baseline_mistake,
        baseline_mistake_text=mistakes.get(baseline_mistake) if baseline_mistake else None,
        student_draws=draws,
        general_prose=context.general,
        replaces=replaces,
        hyperparameters=hyperparameters,
        variants=own_variants,
    )


def _with_replacements(probes: tuple[Probe, ...], made: list[dict], replaces: tuple[str, ...],
                       helpers: types.ModuleType, where: str, key: str) -> tuple[Probe, ...]:
    """Each probe with a provided helper for every replaced name: its own choice, else the helper of that name."""
    def helper(value: object, name: str) -> Callable[..., Any]:
        function = getattr(helpers, value, None) if isinstance(value, str) else value
        if callable(function) and getattr(helpers, getattr(function, "__name__", ""), None) is function:
            return cast(Callable[..., Any], function)
        raise SpecError(f"{name!r} must be replaced by a function of the provided helpers, not {value!r}",
                        path=where, key=f"{key}.replaces")

    completed = []
    for probe, raw in zip(probes, made):
        chosen = raw.get("replacements", {})
        unknown = sorted(set(chosen) - set(replaces))
        if unknown:
            raise SpecError(f"probe {probe.name!r} replaces {', '.join(unknown)}, which the exercise does not list",
                            path=where, key=f"{key}.replaces")
        replacements = {name: helper(chosen.get(name, name), name) for name in replaces}
        completed.append(Probe(probe.name, probe.arguments, replacements))
    return tuple(completed)


def _load_package(folder: Path, name: str) -> types.ModuleType:
    """Make the assignment folder a private package, so its modules can import each other relatively."""
    package_name = f"{REFERENCE_MODULE_PREFIX}{hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12]}"
    package = sys.modules.get(package_name)
    if package is None:
        package = types.ModuleType(package_name, f"assignment {name}")
        package.__path__ = [str(folder)]
        sys.modules[package_name] = package
    return package


REFERENCE_MODULE_PREFIX = "_grader_assignment_"
"""The private package names instructor modules are loaded under (the sandbox worker drops any it finds)."""


def _import(package: types.ModuleType, file_name: str, where: str, key: str) -> types.ModuleType:
    if not file_name.endswith(".py"):
        raise SpecError(f"{file_name!r} is not a .py file", path=where, key=key)
    try:
        return importlib.import_module(f"{package.__name__}.{file_name[:-3]}")
    except Exception as error:  # instructor code: any failure is a spec error, reported with its cause
        raise SpecError(f"cannot load {file_name}: {type(error).__name__}: {error}", path=where, key=key) from error


def _resolve(package: types.ModuleType, reference: str, where: str, key: str) -> Callable[..., Any]:
    file_name, _, attribute = reference.partition(":")
    if not attribute:
        raise SpecError(f"{reference!r} must look like 'file.py:name'", path=where, key=key)
    module = _import(package, file_name, where, key)
    value = getattr(module, attribute, None)
    if not callable(value):
        raise SpecError(f"{file_name} has no function {attribute!r}", path=where, key=key)
    return value


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
