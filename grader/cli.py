"""The `grade` command: parse arguments, grade, render, and turn failures into exit codes.

`grade PATH...` grades; `grade merge DIR...` combines the output folders of `--shard` runs.
One submission printed to standard output is graded right here; anything more (several
submissions, --out, --resume, --shard, the CI formats) goes to grader.batch, imported only
then so that `grade one.ipynb` stays quick.

Exit status (DESIGN.md §3.1): 0 graded and at or above --min-score; 1 graded but below it;
2 usage or spec error; 3 the grader itself failed; 128 + N when signal N stopped it (130 for
Ctrl-C, 143 for SIGTERM, 129 for SIGHUP, 141 when standard output was closed by its reader).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from grader import __version__
from grader.errors import GraderError, Interrupted, OutputClosed, UsageError
from grader.extract import defined_functions
from grader.feedback import BATCH_FORMATS, FORMATS, render
from grader.feedback.audience import DEFAULT_LEVEL, FEEDBACK_LEVELS
from grader.feedback.notebook import ANNOTATED_SUFFIX
from grader.grade import Grader
from grader.lifetime import stop_signals_raise
from grader.records import Limits
from grader.scoring import min_score_test

MAX_TIMEOUT_SECONDS = 600.0
"""The longest --timeout: a graded function needs well under a second; a loop that never ends costs this much."""
MERGE_COMMAND = "merge"
INSTRUCTOR_COMMANDS = ("check-spec", "init")
"""For writing assignments (grader.instructor_cli, imported only then)."""


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="grade",
        description="Grade notebook submissions and explain each mistake.",
        epilog="`grade merge DIR... --out DIR` combines the --out folders of --shard runs (see grade merge --help); "
               "`grade init NAME` starts a new assignment and `grade check-spec DIR` measures one (see their --help). "
               "Exit status: 0 graded (at or above --min-score), 1 below --min-score, 2 usage or spec error, "
               "3 the grader failed, 128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM, 141 output closed).",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="notebooks (.ipynb), Python files (.py), folders (searched for *.ipynb) or globs")
    parser.add_argument("--assignment", metavar="NAME|PATH",
                        help="assignment name or folder with assignment.yaml (default: detected)")
    parser.add_argument("--format", action="append", choices=sorted(FORMATS), dest="formats",
                        help="output format, repeatable (default: text; with --out, only the JSON and Markdown files); "
                             "gradescope: Gradescope's results.json; junit: one JUnit XML document for the batch; "
                             "notebook: the student's notebook with the feedback in it; html: that as one page")
    parser.add_argument("--feedback", choices=FEEDBACK_LEVELS, default=DEFAULT_LEVEL,
                        help="what the student formats show (text, markdown, notebook, html, gradescope, junit; not "
                             "json): full (default), hints (findings, lines, explanations and fixes, never the "
                             "probes' inputs or expected values) or score (the points only)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="write here, per submission, <id>.json and <id>.md (and a file per other format), and "
                             "for the batch grades.csv, summary.md, summary.html (and junit.xml)")
    parser.add_argument("--jobs", type=int, default=_cpu_count(), metavar="N",
                        help=f"grade N submissions at a time (default: the number of CPUs, here {_cpu_count()})")
    parser.add_argument("--resume", action="store_true",
                        help="with --out: skip submissions already graded there from the same file, grader version, "
                             "assignment and --timeout")
    parser.add_argument("--shard", metavar="K/N", default="1/1",
                        help="grade only the K-th of N equal, fixed parts of the inputs (combine with `grade merge`)")
    parser.add_argument("--clean", action="store_true",
                        help="with --out: remove the result files there of submissions not in this run's input")
    parser.add_argument("--quiet", action="store_true",
                        help="nothing on standard error but errors: no progress, no note of the assignment detected")
    parser.add_argument("--timeout", type=float, default=Limits().wall_seconds, metavar="S",
                        help=f"seconds each graded function may run (default {Limits().wall_seconds:g}, "
                             f"at most {MAX_TIMEOUT_SECONDS:g})")
    parser.add_argument("--strict-rng", action="store_true", default=None,
                        help="judge functions that draw at random (dropout masks) seed-exact, as the course's own "
                             "tests do, instead of on the student's own draws")
    parser.add_argument("--min-score", metavar="X",
                        help="exit 1 when a submission scores below X points (or X%% of the maximum, e.g. 80%%)")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="with --version: also say which sandbox layers are in force on this machine")
    return parser


def build_merge_parser() -> argparse.ArgumentParser:
    """The `grade merge` subcommand."""
    parser = argparse.ArgumentParser(
        prog="grade merge",
        description="Combine the --out folders of `grade --shard K/N` runs into the outputs of one run.",
        epilog="Exit status: 0 merged (all at or above --min-score), 1 some below --min-score, 2 usage error "
               "(e.g. a shard missing), 3 a submission could not be graded.",
    )
    parser.add_argument("folders", nargs="+", metavar="DIR", type=Path, help="each shard's --out folder")
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="where to write the merged outputs")
    parser.add_argument("--format", action="append", choices=sorted(FORMATS), dest="formats",
                        help="formats to write (default: those the shards were graded with)")
    parser.add_argument("--min-score", metavar="X", help="exit 1 when a submission scores below X (or X%%)")
    parser.add_argument("--clean", action="store_true",
                        help="remove the result files in --out of submissions not in these shards")
    return parser


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == [MERGE_COMMAND]:
        arguments = build_merge_parser().parse_args(words[1:])
        run = _run_merge
    elif words[:1] in ([INSTRUCTOR_COMMANDS[0]], [INSTRUCTOR_COMMANDS[1]]):
        arguments = argparse.Namespace(command=words[0], words=words[1:])
        run = _run_instructor
    else:
        arguments = build_parser().parse_args(words)
        run = _run
    try:
        with stop_signals_raise():
            try:
                return run(arguments)
            except BrokenPipeError:
                raise OutputClosed() from None
    except KeyboardInterrupt as stop:
        interrupted = Interrupted.of(stop)
        print(f"grade: {interrupted}", file=sys.stderr)
        return interrupted.exit_code
    except OutputClosed as closed:
        # The reader went away (`grade ... | head`): stop quietly, as a process killed by SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return closed.exit_code
    except GraderError as error:
        print(f"grade: {error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # the grader's own bug: say so in one line, keep the exit code contract
        print(f"grade: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return 3


def _run(arguments: argparse.Namespace) -> int:
    if arguments.version:
        print(f"grade {__version__}")
        if arguments.verbose:
            from grader.sandbox import WorkerStartError, describe_sandbox, format_layers

            try:
                print(describe_sandbox())
            except WorkerStartError as error:  # the table still says why, then the exit status does
                print(format_layers(error.layers), flush=True)
                raise
        return 0
    if arguments.verbose:
        raise UsageError("--verbose only goes with --version (grade --version --verbose)")
    if not arguments.paths:
        raise UsageError("give at least one notebook, Python file or folder (see grade --help)")
    if not arguments.timeout > 0:
        raise UsageError("--timeout must be positive")
    if arguments.timeout > MAX_TIMEOUT_SECONDS:
        raise UsageError(f"--timeout must be at most {MAX_TIMEOUT_SECONDS:g} seconds (it is per graded function, "
                         f"not for the whole run), not {arguments.timeout:g}")
    if arguments.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if arguments.clean and arguments.out is None:
        raise UsageError("--clean needs --out (it removes old results from that folder)")
    paths = expand_paths(arguments.paths)
    # With --out, each submission gets its JSON and Markdown files; the text report is for a terminal.
    formats = arguments.formats or ([] if arguments.out is not None else ["text"])
    single = (len(paths) == 1 and arguments.out is None and not arguments.resume and arguments.shard == "1/1"
              and not set(formats) & set(BATCH_FORMATS) and not os.environ.get("GITHUB_STEP_SUMMARY"))
    if not single:
        return _run_batch(arguments, paths, formats)
    below = min_score_test(arguments.min_score)  # a bad value is a usage error before any grading
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")  # no-color.org: set and not empty
    limits = Limits(wall_seconds=arguments.timeout)
    with Grader(arguments.assignment, limits, lambda: defined_functions(paths), arguments.strict_rng) as grader:
        if grader.choice.reason and not arguments.quiet:
            print(f"grade: grading as {grader.assignment.name}: {grader.choice.reason}", file=sys.stderr)
        below = min_score_test(arguments.min_score, sum(exercise.points for exercise in grader.assignment.exercises))
        result = grader.grade(paths[0])
    for name in formats:
        print(render(name, result, __version__, colour, arguments.feedback), flush=True)
    return 1 if below(result.score, result.max_score) else 0


def _run_batch(arguments: argparse.Namespace, paths: list[str], formats: list[str]) -> int:
    from grader.batch.outdir import parse_shard
    from grader.batch.run import BatchOptions, run_batch

    shard = parse_shard(arguments.shard)
    options = BatchOptions(tuple(paths), arguments.assignment, Limits(wall_seconds=arguments.timeout), tuple(formats),
                           arguments.out, arguments.jobs, arguments.resume, shard, arguments.min_score,
                           progress=not arguments.quiet, clean=arguments.clean, feedback=arguments.feedback,
                           strict_rng=arguments.strict_rng)
    return run_batch(options)


def _run_instructor(arguments: argparse.Namespace) -> int:
    from grader import instructor_cli

    command = instructor_cli.check_spec if arguments.command == instructor_cli.CHECK_SPEC_COMMAND else \
        instructor_cli.init
    return command(arguments.words)


def _run_merge(arguments: argparse.Namespace) -> int:
    from grader.batch.merge import merge

    return merge(arguments.folders, arguments.out, arguments.formats, arguments.min_score, arguments.clean)


def expand_paths(patterns: Sequence[str]) -> list[str]:
    """Files, folders (their *.ipynb, checkpoints and the grader's annotated copies skipped) and globs, in a stable
    order, each once."""
    paths: list[str] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir() and path.suffix != ".ipynb":
            # An --out folder inside the inputs holds annotated copies (`--format notebook`): not submissions.
            found = sorted(str(p) for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
                           and not p.name.endswith(ANNOTATED_SUFFIX))
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
    # Each file once, however it was spelt (`a.ipynb`, `./a.ipynb`, through a folder and by name).
    seen: set[str] = set()
    unique = []
    for spelling in paths:
        real = os.path.realpath(spelling)
        if real not in seen:
            seen.add(real)
            unique.append(spelling)
    return unique
