"""The check that a function leaves its arguments as it found them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from grader.checks.registry import CheckContext, check
from grader.sandbox.codec import same_value

if TYPE_CHECKING:
    from grader.assignment.model import Exercise


@check("inputs-unchanged")
def _inputs_unchanged(context: CheckContext) -> tuple[float, str]:
    """The function leaves its arguments as it found them."""
    for trial in context.trials:
        if trial.outcome is None:
            continue
        changed = changed_arguments(context.exercise, trial.probe.arguments, trial.outcome.arguments_after)
        if changed:
            return 0.0, f"changes its argument {', '.join(changed)} in place (on '{trial.label}')"
    return 1.0, "leaves its arguments unchanged"


def changed_arguments(exercise: Exercise, before: Sequence[Any], after: Sequence[Any]) -> list[str]:
    """Names of the parameters whose values differ after the call."""
    return [
        name for name, old, new in zip(exercise.parameters, before, after)
        if not same_value(old, new)
    ]
