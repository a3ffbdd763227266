"""From detections to causes: each cause is reported once, however many outputs it spoils.

A detection *claims* parts of outputs (grader.records.Detection.claims). In the spec's order of
mistakes, a detection whose claims earlier causes already cover adds nothing (it is a symptom of
a more fundamental mistake, or downstream of one). Two detections that claim exactly the same are
*rivals*: the numbers cannot tell them apart (a term k times too big may be a wrong coefficient,
or a right coefficient over a variable that holds the wrong count). Rivals make one cause with
several candidates, which the diagnosis resolves by the student's code or, when the code cannot
tell, reports together.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from grader.records import Detection

Claim = tuple[str, str, str]
"""(output, part, aspect): see Detection.claims."""


@dataclass(frozen=True, slots=True)
class Cause:
    """One mistake to report: a detection, or rival detections the numbers fit equally well."""

    candidates: tuple[tuple[str, Detection], ...]
    """(mistake id, detection), in the spec's order."""

    @property
    def claims(self) -> frozenset[Claim]:
        return self.candidates[0][1].claims()

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.candidates[0][1].outputs


def find_causes(found: Mapping[str, Sequence[Detection]], ancestors: Callable[[str], set[str]]) -> list[Cause]:
    """The causes among detections listed by mistake id in spec order (earlier ids take precedence)."""
    causes: list[Cause] = []
    for mistake_id, listed in found.items():
        for detection in listed:
            claims = detection.claims()
            rival = next((index for index, cause in enumerate(causes) if claims and cause.claims == claims
                          and all(other != mistake_id for other, _ in cause.candidates)), None)
            if rival is not None:
                causes[rival] = Cause((*causes[rival].candidates, (mistake_id, detection)))
                continue
            reported = frozenset().union(*(cause.claims for cause in causes))
            if claims and all(_covered(claim, reported, ancestors, detection.given_upstream) for claim in claims):
                continue
            causes.append(Cause(((mistake_id, detection),)))
    return causes


def _covered(claim: Claim, reported: frozenset[Claim], ancestors: Callable[[str], set[str]],
             given_upstream: bool) -> bool:
    output, part, aspect = claim
    upstream = ancestors(output)
    if not given_upstream and any(other in upstream for other, _, _ in reported):
        return True  # downstream of an output already explained: a consequence, not a cause
    parts = ("term", "baseline") if part == "whole" else (part,)
    return all(any(other == output and other_part in (wanted, "whole") and other_aspect in ("", aspect)
                   for other, other_part, other_aspect in reported)
               for wanted in parts)
