"""Grade a batch: in parallel, resumable, sharded, with the class reports and CI formats (merging: grader.merge).

Every result is written (atomically) as soon as it is known, the result file last, so a
batch killed at any moment leaves only whole files; `--resume` reuses each result file
whose submission bytes, grader version, assignment fingerprint and time limit all match.
The batch files (grades.csv, summary.md, summary.html, junit.xml) are always built from the
result files on disk, in input order, once grading is over: an interrupted-then-resumed
run, a run with any `--jobs`, and `merge` of its shards all write the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import __version__
from grader.assignment.catalog import find_assignment
from grader.assignment.schema import SPEC_FILE, read_spec
from grader.batch.github import append_github_summary, github_summary
from grader.batch.grading import Graded, GradingSetup
from grader.batch.outdir import (
    MANIFEST_FILE,
    SUFFIXES,
    AssignmentInfo,
    Entry,
    Manifest,
    grading_key,
    remove_results,
    remove_stale_temporaries,
    result_file_text,
    select_shard,
    stale_results,
    submission_file,
    submission_ids,
    write_atomic,
)
from grader.batch.pool import GradingPool, InProcessPool
from grader.batch.progress import Progress
from grader.batch.reports import ClassReport
from grader.errors import Interrupted, ResultFileError, UsageError
from grader.extract import defined_functions
from grader.feedback import RENDERERS, render
from grader.feedback.audience import DEFAULT_LEVEL, for_audience
from grader.feedback.gradescope import render_gradescope
from grader.feedback.junit import JUnitReport
from grader.feedback.result_json import from_json
from grader.records import ExerciseResult, Limits, SubmissionResult
from grader.scoring import GRADER_FAILURE, NO_GRADED_FUNCTION, min_score_test

Render = Callable[[SubmissionResult], str]


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """A batch as the command line describes it."""

    paths: tuple[str, ...]
    """Every input, expanded and in order (the whole list, even when grading one shard of it)."""
    assignment: str | None
    limits: Limits
    formats: tuple[str, ...]
    """Requested --format names, in order (default: text)."""
    out: Path | None
    jobs: int
    resume: bool = False
    shard: tuple[int, int] = (1, 1)
    min_score: str | None = None
    progress: bool = True
    clean: bool = False
    strict_rng: bool | None = None
    """--strict-rng (None: as the assignment says)."""
    """Remove the result files of submissions not in `paths` from `out`."""
    feedback: str = DEFAULT_LEVEL
    """What students may see in the feedback files (--feedback)."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What the exit status needs to know of one submission."""

    id: str
    score: float
    max_score: float
    failure: bool
    unmatched: bool = False
    """It defines none of the assignment's functions."""


def exit_status(outcomes: Sequence[_Outcome], below: Callable[[float, float], bool]) -> int:
    """DESIGN.md §3.1: 3 when the grader failed on any submission, else 1 when any is below --min-score, else 0."""
    unmatched = [outcome.id for outcome in outcomes if outcome.unmatched]
    if unmatched:
        print(f"grade: of {len(outcomes)} submissions, {_counted(unmatched)} matched no graded function "
              "(status error, score 0): another assignment's notebook?", file=sys.stderr)
    failed = [outcome.id for outcome in outcomes if outcome.failure]
    if failed:
        print(f"grade: the grader failed on {_counted(failed)}; {'they are' if len(failed) > 1 else 'it is'} "
              f"recorded as {GRADER_FAILURE} with score 0 and graded again by --resume", file=sys.stderr)
        return 3
    return 1 if any(below(outcome.score, outcome.max_score) for outcome in outcomes) else 0


def _counted(ids: Sequence[str]) -> str:
    """'3 submissions (a, b, c)': how many, and the first few by id."""
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return f"{len(ids)} submission{'s' if len(ids) > 1 else ''} ({shown})"


def failure_result(info: AssignmentInfo, path: str, message: str) -> SubmissionResult:
    """The record of a submission the grader could not grade: score 0, every exercise "error", the reason kept."""
    exercises = tuple(ExerciseResult(e.function, e.title, 0.0, e.max_score, "error", (), ()) for e in info.exercises)
    return SubmissionResult(path, "", info.name, info.title, 0.0, info.max_score, "error", exercises,
                            ((GRADER_FAILURE, f"the grader failed on this submission: {message}"),))


# ---- grading a batch -----------------------------------------------------------------------


def run_batch(options: BatchOptions) -> int:
    """Grade the selected submissions and write every output; returns the exit status."""

    below = min_score_test(options.min_score)
    if options.resume and options.out is None:
        raise UsageError("--resume needs --out (it resumes from the results already written there)")
    if options.out is not None and options.out.exists() and not options.out.is_dir():
        raise UsageError(f"--out {options.out} exists and is not a folder")
    entries = [Entry(index, submission_id, path)
               for index, (path, submission_id) in enumerate(zip(options.paths, submission_ids(options.paths)))]
    selected = select_shard(entries, options.shard)
    choice = find_assignment(options.assignment, lambda: defined_functions(options.paths))
    if choice.reason and options.progress:
        print(f"grade: grading as {choice.folder.name}: {choice.reason}", file=sys.stderr)
    folder = choice.folder
    colour = options.out is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    renderers = feedback_renderers(options.formats, options.out is not None, colour, options.feedback)
    setup = GradingSetup(str(folder), options.limits, renderers, feedback=options.feedback,
                         strict_rng=options.strict_rng)
    # Decided by the main process too (it reads the spec, never its code): --resume keys results by it.
    strict_rng = options.strict_rng if options.strict_rng is not None else \
        bool(read_spec(folder / SPEC_FILE).get("strict_rng", False))
    pool = InProcessPool(setup) if len(selected) <= 1 else GradingPool(setup, min(options.jobs, len(selected)))
    show = options.progress and not (options.out is None and sys.stdout.isatty())
    progress = Progress(len(selected), sys.stderr, sys.stderr.isatty(), enabled=show)
    fresh: dict[str, SubmissionResult] = {}  # the results graded by this run, by submission id
    stopped = False
    try:
        info = pool.start()
        below = min_score_test(options.min_score, info.max_score)
        key = grading_key(info, options.limits.wall_seconds, options.feedback, strict_rng)
        manifest = Manifest(__version__, info, options.limits.wall_seconds, tuple(sorted(set(options.formats))),
                            options.shard, len(entries), selected, options.feedback)
        if options.out is not None:
            remove_stale_temporaries(options.out)
            write_atomic(options.out / MANIFEST_FILE, manifest.to_text())
            reused = {entry for entry in selected if options.resume and _reuse(options.out, entry, key, renderers)}
            progress.skip(len(reused))
            remaining = [entry for entry in selected if entry not in reused]
            for graded in _completed(pool.grade(remaining), info, key, renderers):
                _write_submission(options.out, graded.entry, graded.texts)
                # Read while the grading processes work, rather than from the file once they are done.
                fresh[graded.entry.id] = _parse_result(graded.texts["json"], graded.entry.path)
                progress.advance(failed=graded.failure is not None)
        else:
            outcomes = _print_in_order(pool.grade(selected), selected, info, key, renderers, options.formats,
                                       progress, options.feedback)
    except KeyboardInterrupt as stop:
        stopped = True
        progress.close()
        interrupted = Interrupted.of(stop)
        kept = f"; the results written to {options.out} are kept: add --resume to go on" if options.out else ""
        print(f"grade: {interrupted}{kept}", file=sys.stderr)
        return interrupted.exit_code
    except BaseException:
        stopped = True
        raise
    finally:
        pool.close(now=stopped)  # interrupted: stop every grading process, and the students' code, at once
    progress.close()
    if options.out is not None:
        outcomes = write_batch_files(options.out, manifest, fresh, options.clean)
    return exit_status(outcomes, below)


def feedback_renderers(formats: Sequence[str], to_files: bool, colour: bool,
                       feedback: str = DEFAULT_LEVEL) -> dict[str, Render]:
    """The per-submission renderers to run where each result is computed (json, the result file, is always made),
    each showing what `feedback` lets students see."""
    wanted = [name for name in formats if name in RENDERERS]
    if to_files:
        wanted = ["markdown", *(name for name in wanted if name not in ("json", "markdown"))]
    # On standard output, `json` is the standard JSON, as for one submission (the result file adds `grading`).
    return {name: _bind(name, colour and name == "text", feedback) for name in dict.fromkeys(wanted)}


def _bind(name: str, colour: bool, feedback: str) -> Render:
    return lambda result: render(name, result, __version__, colour, feedback)


def _completed(results: Iterator[Graded], info: AssignmentInfo, key: Mapping[str, Any],
               renderers: Mapping[str, Render]) -> Iterator[Graded]:
    """The pool's results, with a failure record made for each submission the grader failed on."""

    for graded in results:
        if graded.failure is None:
            yield graded
            continue
        result = failure_result(info, graded.entry.path, graded.failure)
        texts = {"json": result_file_text(result, __version__, key)}
        texts.update((name, render(result)) for name, render in renderers.items())
        yield Graded(graded.entry, texts, 0.0, info.max_score, "error", graded.failure)


def _write_submission(out: Path, entry: Entry, texts: Mapping[str, str]) -> None:
    """Write a submission's files, the result file last: once it exists, the rest does too."""
    for name, text in texts.items():
        if name != "json":
            write_atomic(submission_file(out, entry.id, name), text if text.endswith("\n") else text + "\n")
    write_atomic(submission_file(out, entry.id, "json"), texts["json"])


def _reuse(out: Path, entry: Entry, key: Mapping[str, Any], renderers: Mapping[str, Render]) -> bool:
    """Whether `entry` was already graded into `out` from the same bytes, grader version, spec and time limit.

    Feedback files missing for a reused result (a format not asked for before) are rendered from it.
    """
    try:
        document = json.loads(submission_file(out, entry.id, "json").read_bytes())
        if (type(document) is not dict or document.get("grading") != dict(key)
                or document.get("grader_version") != __version__
                or document.get("submission", {}).get("path") != entry.path
                or any(error.get("kind") == GRADER_FAILURE for error in document.get("errors", []))):
            return False
        digest = document["submission"]["sha256"]
        with open(entry.path, "rb") as file:
            if not digest or hashlib.sha256(file.read()).hexdigest() != digest:
                return False
        render_missing(out, entry, renderers, document)
        return True
    except (OSError, ValueError, TypeError, KeyError, AttributeError, ResultFileError):
        return False


def render_missing(out: Path, entry: Entry, renderers: Mapping[str, Render], document: Any = None) -> None:
    """Render, from the result file, each feedback file of `entry` that is not in `out` yet."""
    missing = {name: render for name, render in renderers.items() if not submission_file(out, entry.id, name).is_file()}
    if missing:
        result = from_json(document if document is not None else
                           json.loads(submission_file(out, entry.id, "json").read_bytes()))
        for name, render in missing.items():
            text = render(result)
            write_atomic(submission_file(out, entry.id, name), text if text.endswith("\n") else text + "\n")


def _print_in_order(results: Iterator[Graded], selected: Sequence[Entry], info: AssignmentInfo,
                    key: Mapping[str, Any], renderers: Mapping[str, Render], formats: Sequence[str],
                    progress: Progress, feedback: str) -> list[_Outcome]:
    """Standard output: each submission's text in input order, whatever order they finish in; then JUnit."""
    position = {entry.index: number for number, entry in enumerate(selected)}
    waiting: dict[int, Graded] = {}
    following = 0
    outcomes: list[_Outcome] = []
    reports = _BatchReports(info, formats, feedback) if _needs_reports(formats) else None
    for graded in _completed(results, info, key, renderers):
        progress.advance(failed=graded.failure is not None)
        waiting[position[graded.entry.index]] = graded
        while following in waiting:
            ready = waiting.pop(following)
            following += 1
            # Only a result with status "error" can be one that matched no function: the others are not read.
            unmatched = ready.status == "error" and _unmatched(from_json(json.loads(ready.texts["json"])))
            outcomes.append(_Outcome(ready.entry.id, ready.score, ready.max_score, ready.failure is not None,
                                     unmatched))
            for name in dict.fromkeys(formats):
                if name in renderers:
                    print(ready.texts[name], flush=True)
            if reports is not None:
                reports.add(ready.entry.id, from_json(json.loads(ready.texts["json"])))
    if reports is not None:
        if "junit" in formats:
            print(reports.junit_xml(), end="", flush=True)
        reports.github_summary()
    return outcomes


def _needs_reports(formats: Sequence[str]) -> bool:
    return "junit" in formats or bool(os.environ.get("GITHUB_STEP_SUMMARY"))


class _BatchReports:
    """The accumulators the batch files come from, fed in input order."""

    def __init__(self, info: AssignmentInfo, formats: Sequence[str], feedback: str) -> None:
        self.feedback = feedback
        self.classes = ClassReport(info)
        self.junit = JUnitReport(f"grade: {info.title}") if "junit" in formats else None
        self.single: SubmissionResult | None = None

    def add(self, submission_id: str, result: SubmissionResult) -> None:
        self.classes.add(submission_id, result)
        if self.junit is not None:
            self.junit.add(submission_id, for_audience(result, self.feedback))  # CI logs students may read
        self.single = for_audience(result, self.feedback) if len(self.classes.rows) == 1 else None

    def junit_xml(self) -> str:
        assert self.junit is not None
        return self.junit.xml()

    def github_summary(self) -> None:
        if os.environ.get("GITHUB_STEP_SUMMARY"):
            append_github_summary(github_summary(self.classes, self.single))


# ---- the batch files (after a run, a resume, or a merge) -------------------------------------


def write_batch_files(out: Path, manifest: Manifest, known: Mapping[str, SubmissionResult] | None = None,
                      clean: bool = False) -> list[_Outcome]:
    """Build grades.csv, summary.md, summary.html (and junit.xml, results.json when asked) from the result files.

    `known` holds results already read from the files' texts, by submission id. Result files of submissions
    not in the manifest (a folder reused for other inputs) are removed with `clean`, else reported.

    Raises:
        UsageError: A submission of the manifest has no readable result file.
    """
    reports = _BatchReports(manifest.assignment, manifest.formats, manifest.feedback)
    outcomes = []
    for entry in manifest.entries:
        result = (known or {}).get(entry.id) or _read_result(out, entry)
        reports.add(entry.id, result)
        failure = any(kind == GRADER_FAILURE for kind, _ in result.errors)
        outcomes.append(_Outcome(entry.id, result.score, result.max_score, failure, _unmatched(result)))
    write_atomic(out / "grades.csv", reports.classes.grades_csv())
    write_atomic(out / "summary.md", reports.classes.summary_markdown())
    # Each submission's Markdown and result files are always there; its text file when asked for.
    feedback = [SUFFIXES[name] for name in ("markdown", "html", "notebook", "text", "json")
                if name in ("markdown", "json") or name in manifest.formats]
    write_atomic(out / "summary.html", reports.classes.summary_html(feedback))
    if reports.junit is not None:
        write_atomic(out / "junit.xml", reports.junit_xml())
    if "gradescope" in manifest.formats and manifest.total == 1 and reports.single is not None:
        write_atomic(out / "results.json", render_gradescope(reports.single, __version__, False) + "\n")  # its view
    reports.github_summary()
    stale = stale_results(out, {entry.id for entry in manifest.entries})
    if stale and clean:
        remove_results(out, stale)
        print(f"grade: removed from {out} the files of {_counted(stale)} not in this run's input", file=sys.stderr)
    elif stale:
        print(f"grade: {out} also holds the results of {_counted(stale)} not in this run's input: kept, but left out "
              "of grades.csv and the summaries; add --clean to remove them", file=sys.stderr)
    return outcomes


def _unmatched(result: SubmissionResult) -> bool:
    return any(kind == NO_GRADED_FUNCTION for kind, _ in result.errors)


def _read_result(folder: Path, entry: Entry) -> SubmissionResult:
    path = submission_file(folder, entry.id, "json")
    try:
        return _parse_result(path.read_bytes(), path)
    except FileNotFoundError:
        raise UsageError(f"{folder}: no result for {entry.path} ({path.name}); grade it again with --resume") from None
    except OSError as error:
        raise UsageError(f"{path}: not a readable result: {error}") from None


def _parse_result(text: str | bytes, path: Path | str) -> SubmissionResult:
    try:
        return from_json(json.loads(text))
    except (ValueError, ResultFileError) as error:  # JSON that does not parse is a ValueError
        raise UsageError(f"{path}: not a readable result: {error}") from None
