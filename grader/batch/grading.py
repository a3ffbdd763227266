"""A grading process: one Grader, fed paths by the batch's main process, sending back rendered results.

Paths come in and results go out as length-prefixed frames (grader.sandbox.codec) of JSON or
rendered text: nothing computed from student data is ever unpickled. The process dies with the
main process (grader.lifetime), and its sandbox worker with it.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grader import __version__
from grader.batch.outdir import AssignmentInfo, Entry, ExerciseInfo, grading_key, result_file_text
from grader.errors import GraderError
from grader.feedback.audience import DEFAULT_LEVEL
from grader.grade import Grader, Started
from grader.lifetime import die_with_parent
from grader.records import Limits, SubmissionResult
from grader.sandbox.codec import read_frame, write_frame

Render = Callable[[SubmissionResult], str]
"""A per-submission renderer run where the result is computed: result → text."""
MAX_FRAME_BYTES = 256 << 20


@dataclass(frozen=True, slots=True)
class GradingSetup:
    """What every grading process needs to build its Grader and render results."""

    assignment: str
    """The assignment's folder (the main process finds it; it does not load it)."""
    limits: Limits
    renderers: Mapping[str, Render] = field(default_factory=dict)
    """Formats rendered in the grading process, besides the result file (`json`, always)."""
    feedback: str = DEFAULT_LEVEL
    """The --feedback level the renderers show (it goes in each result's `grading` key)."""
    strict_rng: bool | None = None
    """--strict-rng: judge random draws seed-exact (None: as the assignment says)."""


@dataclass(frozen=True, slots=True)
class Graded:
    """One submission done: its rendered files, or why the grader could not grade it."""

    entry: Entry
    texts: Mapping[str, str]
    """Format name → text: `json` (the result file, outdir.result_file_text) and every renderer's; empty on failure."""
    score: float
    max_score: float
    status: str
    failure: str | None = None
    """The grader failed on this submission (a grader bug, a dead worker, a hang), or None."""


def assignment_info(grader: Grader) -> AssignmentInfo:
    """The facts about the loaded assignment that the batch files need."""
    assignment = grader.assignment
    return AssignmentInfo(assignment.name, assignment.title, assignment.fingerprint,
                          tuple(ExerciseInfo(e.function, e.title, float(e.points)) for e in assignment.exercises))


def grade_entry(grader: Grader, setup: GradingSetup, key: Mapping[str, Any], entry: Entry) -> Graded:
    """Grade one submission and render its files; a grader failure becomes a failed Graded, not an exception."""
    return finish_entry(grader, setup, key, start_entry(grader, entry))


@dataclass(frozen=True, slots=True)
class Begun:
    """A submission whose grading has started (Grader.start), or why it could not."""

    entry: Entry
    started: Started | None
    error: Exception | None = None


def start_entry(grader: Grader, entry: Entry) -> Begun:
    """Start grading a submission (see Grader.start); a grader failure is kept for finish_entry to report."""
    try:
        return Begun(entry, grader.start(entry.path))
    except Exception as error:  # noqa: BLE001 - reported, in order, by finish_entry
        return Begun(entry, None, error)


def finish_entry(grader: Grader, setup: GradingSetup, key: Mapping[str, Any], begun: Begun) -> Graded:
    """Finish grading a submission and render its files; a grader failure becomes a failed Graded."""
    entry = begun.entry
    try:
        if begun.started is None:
            assert begun.error is not None
            raise begun.error
        result = grader.finish(begun.started)
        texts = {"json": result_file_text(result, __version__, key)}
        texts.update((name, render(result)) for name, render in setup.renderers.items())
    except Exception as error:  # noqa: BLE001 - one submission's grader failure must not stop the batch
        return Graded(entry, {}, 0.0, 0.0, "error", f"{type(error).__name__}: {error}"[:1000])
    return Graded(entry, texts, result.score, result.max_score, result.status)


def send(fd: int, message: dict[str, Any]) -> None:
    write_frame(fd, json.dumps(message, ensure_ascii=False, allow_nan=False).encode("utf-8"))


def _serve(setup: GradingSetup, request_fd: int, reply_fd: int) -> None:
    """A grading process: build a Grader, say ready, then grade each path the main process sends until EOF."""
    try:
        grader = Grader(setup.assignment, setup.limits, strict_rng=setup.strict_rng)
    except GraderError as error:
        send(reply_fd, {"error": {"message": str(error), "exit_code": error.exit_code}})
        return
    with grader:
        info = assignment_info(grader)
        key = grading_key(info, setup.limits.wall_seconds, setup.feedback, grader.strict_rng)
        send(reply_fd, {"ready": info.to_json()})
        requests = select.poll()
        requests.register(request_fd, select.POLLIN)
        begun: Begun | None = None
        closed = False
        while not closed or begun is not None:
            # When the next path is already here, start it before finishing this one: its sandbox
            # child runs while this one is checked and diagnosed.
            following = None
            if not closed and (begun is None or requests.poll(0)):
                frame = read_frame(request_fd, MAX_FRAME_BYTES)
                if frame is None:
                    closed = True
                else:
                    request = json.loads(frame)
                    following = start_entry(grader, Entry(request["index"], request["id"], request["path"]))
            if begun is None:
                begun = following
                continue
            graded = finish_entry(grader, setup, key, begun)
            begun = following
            if graded.failure is not None:
                send(reply_fd, {"failed": {"index": graded.entry.index, "message": graded.failure}})
                return  # the worker or the grader may be broken: the main process starts a fresh one
            send(reply_fd, {"graded": {"index": graded.entry.index, "score": graded.score,
                                        "max_score": graded.max_score, "status": graded.status,
                                        "formats": list(graded.texts)}})
            for text in graded.texts.values():
                write_frame(reply_fd, text.encode("utf-8"))


def grading_process_main(setup: GradingSetup, request_fd: int, reply_fd: int, parent_pid: int) -> None:
    """Run in the forked grading process; never returns into the main process's code."""
    status = 70
    try:
        die_with_parent(parent_pid)  # and its sandbox worker with it, and the worker's child with that
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # nothing of ours prints here; stray warnings must not garble the progress bar
            os.dup2(null, fd)
        keep = {0, 1, 2, request_fd, reply_fd}
        for name in os.listdir("/proc/self/fd"):  # the other processes' pipes, so their EOFs stay theirs
            if int(name) not in keep:
                with contextlib.suppress(OSError):
                    os.close(int(name))
        _serve(setup, request_fd, reply_fd)
        status = 0
    except BaseException:  # noqa: BLE001 - the main process sees the exit status and the missing reply
        pass
    finally:
        os._exit(status)
