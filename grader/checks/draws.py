"""The check of a function's own random draws (see grader.assignment.model.Draws): each is a 0/1 mask of the
right shape, and where it is large enough to tell, keeps a share of ones within statistical bounds.

With n units each kept with probability p, the share kept has standard deviation √(p(1−p)/n):
a draw passes when |share − p| ≤ `sigmas` standard deviations (5 by default: a valid way of drawing
fails one probe in about 1.7 million), on calls with at least `min_units` units. Smaller draws are
judged on shape and values only, since there no share can prove a thing, except where p is 0 or 1
and every draw must come out the same.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from grader.assignment.model import Exercise
from grader.checks.registry import CheckContext, check
from grader.checks.values import errors_message
from grader.records import Trial


@dataclass(frozen=True, slots=True)
class Share:
    """How many units a draw kept on one call, against what the probability allows."""

    kept: int
    units: int
    probability: float
    sigmas: float

    @property
    def fraction(self) -> float:
        return self.kept / self.units

    @property
    def margin(self) -> float:
        """The largest distance from `probability` the bound accepts."""
        return self.sigmas * math.sqrt(self.probability * (1 - self.probability) / self.units)

    @property
    def within(self) -> bool:
        return abs(self.fraction - self.probability) <= self.margin + 1e-12

    def __str__(self) -> str:
        expected = (f"{self.probability:.0%} exactly" if self.margin == 0
                    else f"{self.probability * 100:.4g}% ± {self.margin:.1%}")
        return f"kept {self.fraction:.1%} of {self.units:,} units, expected {expected}"


def share(draw: np.ndarray, probability: float, sigmas: float) -> Share:
    """The share of ones in a 0/1 draw, with its bound."""
    return Share(int(np.count_nonzero(draw)), int(draw.size), probability, sigmas)


def is_binary(draw: np.ndarray) -> bool:
    """Whether every entry is 0 or 1 (booleans count)."""
    return bool(np.all((draw == 0) | (draw == 1)))


def _repeated_along(draw: np.ndarray) -> str | None:
    """'column' or 'row' when a 2-D draw repeats one column (or row) throughout; with min_units independent
    entries that does not happen by chance."""
    if draw.ndim != 2 or not 0 < np.count_nonzero(draw) < draw.size:
        return None
    if draw.shape[1] > 1 and np.all(draw == draw[:, :1]):
        return "column"
    if draw.shape[0] > 1 and np.all(draw == draw[:1, :]):
        return "row"
    return None


@dataclass(frozen=True, slots=True)
class DrawsVerdict:
    """What is wrong with each of a function's draws, over all its calls."""

    problems: dict[str, str] = field(default_factory=dict)
    """Draw → the most telling thing wrong with it: a wrong shape or value first, else its share on the largest
    call out of bounds."""
    largest: dict[str, Share] = field(default_factory=dict)
    """Draw → its share on the largest call where a share was judged."""


def judge_draws(exercise: Exercise, trials: Sequence[Trial]) -> DrawsVerdict:
    """Judge every draw of every call that returned (the probes and their baselines)."""
    draws = exercise.student_draws
    assert draws is not None
    index = exercise.parameters.index(draws.probability)
    malformed: dict[str, str] = {}
    shares: dict[str, list[tuple[Share, str]]] = {name: [] for name in draws.outputs}
    for label, values, expected, arguments in (call for trial in trials for call in calls(trial)):
        probability = float(arguments[index])
        for name, shaped_like in draws.outputs.items():
            draw, shape = values.get(name), expected[shaped_like].shape
            if name in malformed:
                continue
            if draw is None:
                malformed[name] = f"{name} is missing (on '{label}')"
            elif draw.shape != shape:
                malformed[name] = f"{name} has shape {draw.shape}, not {shape} like {shaped_like} (on '{label}')"
            elif not is_binary(draw):
                malformed[name] = f"{name} holds values other than 0 and 1 (on '{label}')"
            elif draw.size >= draws.min_units and (repeated := _repeated_along(draw)):
                malformed[name] = (f"{name} is the same in every {repeated} (on '{label}'): one draw repeated, "
                                   "not one per entry")
            elif draw.size >= draws.min_units or probability in (0.0, 1.0):
                shares[name].append((share(draw, probability, draws.sigmas), label))
    problems = {}
    for name in draws.outputs:
        outside = [(found, label) for found, label in shares[name] if not found.within]
        if name in malformed:
            problems[name] = malformed[name]
        elif outside:
            # The most telling: a share with a margin (0 < p < 1) before an exact one, then the largest call.
            found, label = max(outside, key=lambda item: (item[0].margin > 0, item[0].units))
            problems[name] = f"{name} {found} (on '{label}')"
    largest = {name: max(found, key=lambda item: item.units)
               for name, found in ((name, [item for item, _ in shares[name]]) for name in draws.outputs) if found}
    return DrawsVerdict(problems, largest)


@check("draws", needs="student_draws")
def _draws(context: CheckContext) -> tuple[float, str]:
    """Each of the exercise's draws (its `student_draws`) is a 0/1 array of the right shape, keeping a share within
    bounds of the probability it was given."""
    problem = errors_message(context.trials)
    if problem:
        return 0.0, problem
    outputs = context.exercise.student_draws.outputs if context.exercise.student_draws else {}
    verdict = judge_draws(context.exercise, context.trials)
    if verdict.problems:
        return (1 - len(verdict.problems) / len(outputs),
                "; ".join(verdict.problems[name] for name in outputs if name in verdict.problems))
    stats = "; ".join(f"{name} {verdict.largest[name]} on its largest probe" for name in outputs
                      if name in verdict.largest and verdict.largest[name].margin)
    return 1.0, (f"{', '.join(outputs)} are 0/1 masks shaped like {', '.join(outputs.values())} on every call"
                 + (f"; {stats}" if stats else ""))


def calls(trial: Trial) -> Iterator[tuple[str, Mapping[str, np.ndarray], Mapping[str, np.ndarray], tuple]]:
    """(what was run, got, expected, arguments) for a trial's calls that returned: the probe, then its baseline."""
    if trial.returned and trial.got is not None:
        yield trial.label, trial.got.values, trial.expected, trial.probe.arguments
    if trial.baseline_got is not None and not trial.baseline_got.problem and trial.baseline_expected is not None \
            and trial.baseline_arguments is not None:
        yield trial.baseline_label, trial.baseline_got.values, trial.baseline_expected, trial.baseline_arguments
