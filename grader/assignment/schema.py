"""The spec file's schema: reading the YAML and checking each key's name and type, before any code is loaded.

Unknown keys are errors, so a misspelt option fails at load, naming the file and the key.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from grader.assignment.model import MistakeText, Returned
from grader.errors import SpecError

SPEC_FILE = "assignment.yaml"
TOP_KEYS = {"name": str, "title": str, "helpers": dict, "detectors": (str, list), "variants": (str, list),
            "exercises": list, "mistakes": dict, "strict_rng": bool}
HELPER_KEYS = {"source": str, "serves": list}
EXERCISE_KEYS = {
    "function": str, "title": str, "parameters": list, "points": (int, float), "reference": str,
    "probes": str, "returns": (str, dict), "keys": list, "baseline": dict, "tolerance": dict, "checks": list,
    "mistakes": list, "depends_on": dict, "baseline_mistake": str, "replaces": list,
    "hyperparameters": dict, "student_draws": dict,
}
DRAWS_KEYS = {"outputs": dict, "probability": str, "reference": str, "min_units": int, "sigmas": (int, float)}
REQUIRED_DRAWS_KEYS = {"outputs", "probability", "reference"}
REQUIRED_EXERCISE_KEYS = {"function", "parameters", "points", "reference", "probes", "returns", "checks"}
CHECK_KEYS = {"check": str, "title": str, "points": (int, float), "options": dict}
MISTAKE_KEYS = {"title": str, "explanation": str, "fix": str, "math": str}


def read_spec(path: Path) -> dict:
    """The spec's YAML as a mapping (safe loading: no tags, no code)."""
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as error:
        raise SpecError(f"cannot read spec: {error}", path=str(path)) from None
    if not isinstance(data, dict):
        raise SpecError("the spec must be a mapping", path=str(path))
    return data


def check_keys(data: object, allowed: Mapping[str, Any], required: set[str], where: str, key: str) -> None:
    """Raise SpecError for a value that is not a mapping, an unknown or mistyped key, or a missing one."""
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


def read_mistakes(data: object, where: str) -> dict[str, MistakeText]:
    """The `mistakes:` section: id → prose."""
    if not isinstance(data, dict):
        raise SpecError("must be a mapping of id to prose", path=where, key="mistakes")
    texts = {}
    for mistake_id, entry in data.items():
        check_keys(entry, MISTAKE_KEYS, {"title", "explanation", "fix"}, where, f"mistakes.{mistake_id}")
        texts[str(mistake_id)] = MistakeText(**{k: v.strip() for k, v in entry.items()})
    return texts


def read_returns(returns: object, keys: object, where: str, key: str) -> Returned:
    """The `returns:` of an exercise (with its `keys:` for a number, an array or a dict) as a Returned.

    `returns: number` or `array` with one key names the output; `returns: dict` lists the keys;
    `returns: {tuple: [a, {b: [c, d]}, {e: {keys: [f]}}]}` names a tuple's elements in order, an
    element being a name (a number or an array), `{name: [...]}` (a tuple) or `{name: {keys: [...]}}` (a dict).
    """
    names = [str(name) for name in keys] if isinstance(keys, list) else []
    if isinstance(returns, dict):
        if set(returns) != {"tuple"} or names:
            raise SpecError("a mapping here must be {tuple: [elements]}, with no keys: list", path=where, key=key)
        return _tuple("", returns["tuple"], where, key)
    if returns in ("number", "array"):
        if len(names) != 1:
            raise SpecError(f"a {returns} return needs exactly one key, its output's name", path=where,
                            key=f"{key}.keys" if names else key)
        return Returned(returns, names[0])
    if returns == "dict":
        if not names:
            raise SpecError("a dict return needs its keys", path=where, key=f"{key}.keys")
        return Returned("dict", items=tuple(Returned("array", name) for name in names))
    raise SpecError("must be number, array, dict or {tuple: [...]}", path=where, key=key)


def _tuple(name: str, elements: object, where: str, key: str) -> Returned:
    if not isinstance(elements, list) or not elements:
        raise SpecError("a tuple needs a list of its elements", path=where, key=key)
    items = []
    for index, element in enumerate(elements):
        if isinstance(element, str):
            items.append(Returned("array", element))
        elif isinstance(element, dict) and len(element) == 1:
            (inner, shape), = element.items()
            if isinstance(shape, list):
                items.append(_tuple(str(inner), shape, where, f"{key}[{index}]"))
            elif isinstance(shape, dict) and set(shape) == {"keys"} and isinstance(shape["keys"], list):
                items.append(Returned("dict", str(inner), tuple(Returned("array", str(k)) for k in shape["keys"])))
            else:
                raise SpecError("an element is a name, {name: [...]} or {name: {keys: [...]}}", path=where,
                                key=f"{key}[{index}]")
        else:
            raise SpecError("an element is a name, {name: [...]} or {name: {keys: [...]}}", path=where,
                            key=f"{key}[{index}]")
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise SpecError("two elements have the same name", path=where, key=key)
    return Returned("tuple", name, tuple(items))
