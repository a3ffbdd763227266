"""The `grade` command: parse arguments, grade, render, and turn failures into exit codes.

Exit status (DESIGN.md §3.1): 0 graded and at or above --min-score; 1 graded but below it;
2 usage or spec error; 3 the grader itself failed.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from grader import __version__
from grader.errors import GraderError, UsageError
from grader.grade import Grader
from grader.render import RENDERERS
from grader.result import SubmissionResult
from grader.sandbox import Limits

EXTENSIONS = {"text": "txt", "json": "json", "markdown": "md"}


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="grade",
        description="Grade notebook submissions and explain each mistake.",
        epilog="Exit status: 0 graded (at or above --min-score), 1 below --min-score, 2 usage or spec error, "
               "3 the grader failed.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="notebooks (.ipynb), Python files (.py), folders (searched for *.ipynb) or globs")
    parser.add_argument("--assignment", metavar="NAME|PATH",
                        help="assignment name or folder with assignment.yaml (default: detected)")
    parser.add_argument("--format", action="append", choices=sorted(RENDERERS), dest="formats",
                        help="output format, repeatable (default: text)")
    parser.add_argument("--out", metavar="DIR", type=Path, help="write one file per submission and format here")
    parser.add_argument("--timeout", type=float, default=Limits().wall_seconds, metavar="S",
                        help=f"seconds each graded function may run (default {Limits().wall_seconds:g})")
    parser.add_argument("--min-score", metavar="X",
                        help="exit 1 when a submission scores below X points (or X%% of the maximum, e.g. 80%%)")
    parser.add_argument("--version", action="version", version=f"grade {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        return _run(arguments)
    except GraderError as error:
        print(f"grade: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("grade: interrupted", file=sys.stderr)
        return 3
    except BrokenPipeError:
        # The reader went away (`grade ... | head`): stop quietly; the results were not all delivered.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 3
    except Exception as error:  # the grader's own bug: say so in one line, keep the exit code contract
        print(f"grade: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return 3


def _run(arguments: argparse.Namespace) -> int:
    if not arguments.timeout > 0:
        raise UsageError("--timeout must be positive")
    paths = expand_paths(arguments.paths)
    formats = arguments.formats or ["text"]
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ and arguments.out is None
    limits = Limits(wall_seconds=arguments.timeout)
    below = False
    with Grader(arguments.assignment, limits, sample_text=_sample(paths)) as grader:
        for path in paths:
            result = grader.grade(path)
            below |= _below(result, arguments.min_score)
            _emit(result, formats, arguments.out, colour)
    return 1 if below else 0


def expand_paths(patterns: Sequence[str]) -> list[str]:
    """Files, folders (their *.ipynb, checkpoints skipped) and globs, in a stable order, each once."""
    paths: list[str] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir() and path.suffix != ".ipynb":
            found = sorted(str(p) for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if not found:
                raise UsageError(f"no notebooks in folder {pattern}")
            paths.extend(found)
        elif path.exists():
            paths.append(pattern)
        elif glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise UsageError(f"no files match {pattern}")
            paths.extend(matches)
        else:
            raise UsageError(f"no such file: {pattern}")
    return list(dict.fromkeys(paths))


def _sample(paths: Sequence[str]) -> str:
    """The start of the first readable submission, to detect the assignment from its function names."""
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                return file.read(4 << 20)
        except OSError:
            continue
    return ""


def _below(result: SubmissionResult, min_score: str | None) -> bool:
    if min_score is None:
        return False
    try:
        threshold = (float(min_score[:-1]) / 100 * result.max_score) if min_score.endswith("%") else float(min_score)
    except ValueError:
        raise UsageError(f"--min-score must be a number or a percentage, not {min_score!r}") from None
    return result.score < threshold - 1e-9


def _emit(result: SubmissionResult, formats: Sequence[str], out: Path | None, colour: bool) -> None:
    for name in formats:
        text = RENDERERS[name](result, __version__, colour)
        if out is None:
            print(text, flush=True)
            continue
        out.mkdir(parents=True, exist_ok=True)
        target = out / f"{Path(result.path).stem}.{EXTENSIONS[name]}"
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(text + "\n", encoding="utf-8")
        temporary.replace(target)  # atomic: a reader never sees half a result
