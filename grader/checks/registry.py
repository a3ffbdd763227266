"""The check registry: each kind of check registers itself with the options it accepts.

A spec naming an unknown check or option fails when it is loaded, not in the middle of a batch;
options declared as `Reference` name instructor code (`file.py:name`), resolved when the spec loads.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grader.errors import SpecError
from grader.records import CheckResult, Trial

if TYPE_CHECKING:
    from grader.assignment.model import Assignment, CheckSpec, Exercise


class Reference:
    """The type of a check option that names instructor code, `file.py:name`; checks receive the callable."""


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Everything a check may look at."""

    exercise: Exercise
    spec: CheckSpec
    trials: tuple[Trial, ...]
    assignment: Assignment
    stopped: str | None
    """Why the run produced no usable calls at all (timeout, syntax error...), or None."""


CheckFunction = Callable[[CheckContext], tuple[float, str]]
"""Returns (fraction of the points earned, message)."""


@dataclass(frozen=True, slots=True)
class CheckDefinition:
    """A registered check and the options a spec may give it."""

    name: str
    run: CheckFunction
    options: Mapping[str, type | tuple[type, ...]]
    """Option → its type; `Reference` for `file.py:name` strings the spec's loader resolves."""
    required: tuple[str, ...]
    needs: str | None = None
    """An exercise key the check reads (e.g. `student_draws`): a spec using the check without it fails to load."""

    @property
    def references(self) -> tuple[str, ...]:
        """The options that name instructor code."""
        return tuple(option for option, kind in self.options.items() if kind is Reference)

    def validate(self, options: Mapping[str, Any], where: str, key: str) -> None:
        """Raise SpecError for an unknown, mistyped or missing option (before references are resolved)."""
        for option in self.required:
            if option not in options:
                raise SpecError(f"check {self.name!r} needs option {option!r}", path=where, key=key)
        for option, value in options.items():
            if option not in self.options:
                raise SpecError(f"check {self.name!r} has no option {option!r}", path=where, key=key)
            kind = str if self.options[option] is Reference else self.options[option]
            if not isinstance(value, kind):
                raise SpecError(f"option {option!r} has the wrong type", path=where, key=key)


CHECKS: dict[str, CheckDefinition] = {}


def check(name: str, required: tuple[str, ...] = (), needs: str | None = None, **options: type | tuple[type, ...]
          ) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under `name` with the options it accepts; a duplicate name fails at import."""

    def register(function: CheckFunction) -> CheckFunction:
        if name in CHECKS:
            raise RuntimeError(f"check {name!r} registered twice")
        CHECKS[name] = CheckDefinition(name, function, options, required, needs)
        return function

    return register


def run_check(context: CheckContext) -> CheckResult:
    """Run one check and scale its score to the spec's points."""
    spec = context.spec
    if context.stopped:
        return CheckResult(spec.title, False, 0.0, spec.points, f"not checked: {context.stopped}")
    fraction, message = CHECKS[spec.kind].run(context)
    score = round(spec.points * fraction, 2)
    return CheckResult(spec.title, fraction >= 1.0, score, spec.points, message)


