"""The instructor's commands: `grade check-spec DIR` and `grade init NAME` (grader.cli hands them over).

check-spec loads a spec (every reference resolved) and measures its adequacy
(grader.assignment.adequacy): exit 0 when it is adequate, 1 when it is not, 2 when it does not
load. init scaffolds a new assignment (grader.assignment.scaffold) that check-spec accepts.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from grader.assignment.adequacy import Adequacy, ExerciseAdequacy, Verdict, measure
from grader.assignment.catalog import find_assignment
from grader.assignment.loader import load_assignment
from grader.assignment.scaffold import scaffold

CHECK_SPEC_COMMAND = "check-spec"
INIT_COMMAND = "init"
CHECK_SPEC_SCHEMA = "grader.check-spec/1"
_SUBJECT_WIDTH = 50


def check_spec(words: Sequence[str]) -> int:
    """`grade check-spec DIR [--format text|json]`: print the adequacy report; 0 adequate, 1 not."""
    parser = argparse.ArgumentParser(
        prog=f"grade {CHECK_SPEC_COMMAND}",
        description="Validate an assignment spec and measure whether its probes can grade: the reference passes "
                    "its own checks, every mistake variant is told apart from the reference and from the others, "
                    "the probes vary shapes, sizes and hyper-parameters (their neutral values included).",
        epilog="Exit status: 0 adequate, 1 not adequate, 2 the spec does not load (the message names the file and "
               "key).")
    parser.add_argument("assignment", metavar="DIR", help="a folder holding assignment.yaml, or a built-in name")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    arguments = parser.parse_args(words)
    folder = find_assignment(arguments.assignment).folder
    adequacy = measure(load_assignment(folder))
    print(render_json(adequacy) if arguments.format == "json" else render_text(adequacy, str(folder)))
    return 0 if adequacy.passed else 1


def init(words: Sequence[str]) -> int:
    """`grade init NAME`: scaffold NAME/ with a spec, a reference, probes and mistakes."""
    parser = argparse.ArgumentParser(
        prog=f"grade {INIT_COMMAND}",
        description="Start a new assignment: NAME/assignment.yaml, solution.py, probes.py and mistakes.py, with "
                    "comments, grading one example function (ridge_gradient) that you replace with yours.")
    parser.add_argument("name", metavar="NAME", type=Path, help="the folder to create; its name names the assignment")
    folder = parser.parse_args(words).name
    written = scaffold(folder)
    print(f"wrote {', '.join(str(path) for path in written)}")
    print(f"next: grade check-spec {folder}   then   grade --assignment {folder} notebook.ipynb")
    return 0


def render_text(adequacy: Adequacy, where: str) -> str:
    """The report as a table a person reads: one block per exercise, failures marked ✗."""
    verdict = "adequate" if adequacy.passed else "NOT adequate"
    lines = [f"{where}: {verdict} ({adequacy.title})"]
    for exercise in adequacy.exercises:
        lines.extend(["", *_exercise_lines(exercise)])
    lines.append("")
    lines.extend([f"warning: {warning}" for warning in adequacy.warnings] or ["warnings: none"])
    return "\n".join(lines)


def _exercise_lines(exercise: ExerciseAdequacy) -> list[str]:
    state = "adequate" if exercise.passed else "NOT adequate"
    lines = [f"{exercise.function}: {exercise.probes} probes, {len(exercise.variants)} variants — {state}"]
    lines.extend(_verdict_lines("the reference against its own checks", exercise.reference))
    if exercise.variants:
        lines.extend(_verdict_lines("each variant against the reference", exercise.variants))
        if exercise.indistinguishable:
            lines.append("  ✗ pairs of variants the probes cannot tell apart:")
            lines.extend(f"      {first}  ≡  {second}" for first, second in exercise.indistinguishable)
        else:
            lines.append("  ✓ the probes tell every variant from every other mistake's")
    if exercise.detectors:
        lines.extend(_verdict_lines("detectors on their variants' numbers", exercise.detectors))
    lines.extend(_verdict_lines("what the probes vary", exercise.coverage))
    if exercise.unmeasured:
        lines.append(f"  not measured (a detector but no variant): {', '.join(exercise.unmeasured)}")
    return lines


def _verdict_lines(heading: str, verdicts: Sequence[Verdict]) -> list[str]:
    lines = [f"  {heading}:"]
    width = min(_SUBJECT_WIDTH, max(len(verdict.subject) for verdict in verdicts))
    for verdict in verdicts:
        mark = {True: "✓", False: "✗", None: "–"}[verdict.passed]
        lines.append(f"    {mark} {verdict.subject:<{width}}  {verdict.detail}")
    return lines


def render_json(adequacy: Adequacy) -> str:
    """The report as one JSON object (schema grader.check-spec/1)."""
    def exercise(item: ExerciseAdequacy) -> dict:
        fields = dataclasses.asdict(item)
        fields["indistinguishable"] = [list(pair) for pair in item.indistinguishable]
        return {**fields, "passed": item.passed}

    return json.dumps({"schema": CHECK_SPEC_SCHEMA, "assignment": adequacy.name, "title": adequacy.title,
                       "passed": adequacy.passed, "exercises": [exercise(item) for item in adequacy.exercises],
                       "warnings": list(adequacy.warnings)}, ensure_ascii=False, indent=2)
