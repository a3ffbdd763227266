"""Mistake detectors: the registry, and the detectors every assignment can use.

A detector looks only at numbers (the trials) and returns a Detection when a catalog mistake
explains the student's outputs on every probe. Assignments register their own detectors in the
modules their spec names (`detectors: [mistakes.py]`), collected when the spec loads; an
exercise runs the detectors of the catalog ids its spec lists.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from grader.errors import SpecError
from grader.records import Detection

if TYPE_CHECKING:
    from grader.assignment.model import Exercise
    from grader.records import Trial


Detector = Callable[["Exercise", Sequence["Trial"]], list[Detection]]


def detects(mistake_id: str) -> Callable[[Detector], Detector]:
    """Mark a function as the detector of a catalog id (a generic one may be a suffix, e.g. `missing-keys`)."""

    def mark(function: Detector) -> Detector:
        function.mistake_id = mistake_id  # type: ignore[attr-defined]
        return function

    return mark


def collect_detectors(module: ModuleType, where: str = "") -> dict[str, Detector]:
    """The detectors a module defines, by id; two for one id is a spec error (`where` names the spec)."""
    found: dict[str, Detector] = {}
    for value in vars(module).values():
        mistake_id = getattr(value, "mistake_id", None)
        if callable(value) and isinstance(mistake_id, str):
            if mistake_id in found:
                raise SpecError(f"two detectors for {mistake_id!r} in {module.__name__}", path=where or None,
                                key="detectors")
            found[mistake_id] = value
    return found


def detector_for(mistake_id: str, detectors: Mapping[str, Detector]) -> Detector | None:
    """The detector of a full id (e.g. `grad.missing-keys`), else the generic one for its suffix."""
    return detectors.get(mistake_id) or GENERIC_DETECTORS.get(mistake_id.partition(".")[2])


@detects("missing-keys")
def missing_keys(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """The returned dict lacks expected keys (on some probe)."""
    for trial in trials:
        if trial.got is not None and trial.got.missing:
            missing = trial.got.missing
            returned = ", ".join(sorted(trial.got.values)) or "none of the expected ones"
            return [Detection(missing, f"no key {', '.join(missing)} in the returned dict (expected keys returned: "
                                       f"{returned})", {"keys": ", ".join(missing)}, part="whole")]
    return []


@detects("wrong-keys")
def wrong_keys(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
    """The returned dict has keys that are not expected (often a misspelling or the wrong case)."""
    for trial in trials:
        if trial.got is not None and trial.got.unknown:
            unknown = trial.got.unknown
            return [Detection((), f"unexpected key {', '.join(unknown)} in the returned dict",
                              {"keys": ", ".join(unknown)})]
    return []


GENERIC_DETECTORS = collect_detectors(sys.modules[__name__])
