"""Grade in parallel: forked grading processes, each with its own Grader, fed paths by the main process.

Processes, not threads: the checks that run in the grader (not in the sandbox) are CPU-bound
numpy under the GIL. The main process forks every grading process and never loads the
assignment's code itself; each grading process (grader.batch.grading) builds its own `Grader`,
which starts its sandbox worker first and only then loads the reference (DESIGN.md §5).

A grading process that fails, dies or hangs costs only the submission it held: that one is
reported as a grader failure and a fresh process, forked from the main process (which still
holds no reference code), takes its place.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from grader.batch.grading import (
    MAX_FRAME_BYTES,
    Graded,
    GradingSetup,
    assignment_info,
    grade_entry,
    grading_process_main,
    send,
)
from grader.batch.outdir import AssignmentInfo, Entry, grading_key
from grader.errors import InternalError, SpecError
from grader.grade import Grader
from grader.sandbox.codec import DecodeError, read_frame

_STOP_SECONDS = 3.0  # how long an idle grading process may take to exit before it is killed
_SLACK_SECONDS = 30.0  # a submission's deadline, beyond the sandbox's own time limits
_QUEUED = 3  # entries sent to each grading process: it starts the next while it finishes one


class InProcessPool:
    """Grades in this process, one submission after another: for one submission, where forking only costs time."""

    def __init__(self, setup: GradingSetup) -> None:
        self.setup = setup
        self.grader: Grader | None = None

    def start(self) -> AssignmentInfo:
        self.grader = Grader(self.setup.assignment, self.setup.limits, strict_rng=self.setup.strict_rng)
        return assignment_info(self.grader)

    def grade(self, entries: Sequence[Entry]) -> Iterator[Graded]:
        assert self.grader is not None, "start() first"
        key = grading_key(assignment_info(self.grader), self.setup.limits.wall_seconds, self.setup.feedback,
                          self.grader.strict_rng)
        for entry in entries:
            yield grade_entry(self.grader, self.setup, key, entry)

    def close(self, now: bool = False) -> None:
        if self.grader is not None:
            self.grader.close(now)


# ---- the main process's side ---------------------------------------------------------------


@dataclass(slots=True)
class _Process:
    pid: int
    request_fd: int
    reply_fd: int
    ready: bool = False
    entries: deque[Entry] = field(default_factory=deque)  # sent and not answered yet; the first is being graded
    deadline: float = 0.0  # the first entry's


class GradingPool:
    """`processes` forked grading processes; `grade` yields results in completion order."""

    def __init__(self, setup: GradingSetup, processes: int) -> None:
        self.setup = setup
        self.size = max(1, processes)
        self.info: AssignmentInfo | None = None
        self._processes: dict[int, _Process] = {}  # by reply fd
        self._poller = select.poll()
        self._exited: list[int] = []

    def start(self) -> AssignmentInfo:
        """Fork the grading processes and wait until each has loaded the assignment.

        Raises:
            SpecError: The assignment is invalid (exit 2).
            InternalError: A grading process could not start.
        """
        for _ in range(self.size):
            self._spawn()
        while not all(process.ready for process in self._processes.values()):
            for fd, _ in self._poller.poll():
                self._receive_ready(self._processes[fd])
        assert self.info is not None
        return self.info

    def grade(self, entries: Sequence[Entry]) -> Iterator[Graded]:
        """Grade every entry once, in parallel; results come in completion order."""
        pending = deque(entries)
        exercises = len(self.info.exercises if self.info else ())
        per_entry = exercises * (self.setup.limits.wall_seconds + 2) + _SLACK_SECONDS
        while pending or any(process.entries for process in self._processes.values()):
            self._hand_out(pending, per_entry)
            if pending and not self._processes:
                self._spawn()
            now = time.monotonic()
            deadlines = [process.deadline for process in self._processes.values() if process.entries]
            wait = max(0.0, min(deadlines) - now) if deadlines else 1.0
            finished: list[Graded] = []
            for fd, _ in self._poller.poll(min(wait, 1.0) * 1000 + 1):
                ready = self._processes.get(fd)
                if ready is not None:
                    finished.extend(self._receive(ready, pending, per_entry))
            # Hand out the next paths before the caller writes these results, so grading goes on meanwhile.
            self._hand_out(pending, per_entry)
            yield from finished
            for process in list(self._processes.values()):
                if process.entries and time.monotonic() > process.deadline:
                    entry = process.entries.popleft()
                    pending.extendleft(reversed(process.entries))  # queued behind it: another process takes them
                    self._retire(process, kill=True)
                    yield _failed(entry, f"grading took longer than {per_entry:g} s; the grading process was stopped")
            self._reap(block=False)

    def _hand_out(self, pending: deque[Entry], seconds: float) -> None:
        """Send entries to the ready processes that hold the fewest, up to _QUEUED each: every process gets one
        before any gets a second (a slow submission must not keep others waiting behind it while a process
        idles), and the next ones wait in their pipes, not on us."""
        while pending:
            ready = [process for process in self._processes.values()
                     if process.ready and len(process.entries) < _QUEUED]
            if not ready:
                return
            self._dispatch(min(ready, key=lambda process: len(process.entries)), pending.popleft(), seconds)

    def close(self, now: bool = False) -> None:
        """Stop every grading process (they exit on EOF; stragglers are killed) and reap them.

        With `now` (the grader was interrupted), kill them at once: their sandbox workers and the
        students' code die with them (grader.lifetime).
        """
        for process in list(self._processes.values()):
            self._retire(process, kill=now)
        deadline = time.monotonic() + (0 if now else _STOP_SECONDS)
        while self._exited and time.monotonic() < deadline:
            self._reap(block=False)
            if self._exited:
                time.sleep(0.005)
        for pid in self._exited:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._reap(block=True)

    def __enter__(self) -> GradingPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- internals -------------------------------------------------------------------------

    def _spawn(self) -> _Process:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        for stream in (sys.stdout, sys.stderr):  # or the child would inherit, and someday flush, our buffers
            with contextlib.suppress(Exception):
                stream.flush()
        parent_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            grading_process_main(self.setup, request_read, reply_write, parent_pid)
        os.close(request_read)
        os.close(reply_write)
        process = _Process(pid, request_write, reply_read)
        self._processes[reply_read] = process
        self._poller.register(reply_read, select.POLLIN)
        return process

    def _dispatch(self, process: _Process, entry: Entry, seconds: float) -> None:
        if not process.entries:
            process.deadline = time.monotonic() + seconds
        process.entries.append(entry)
        try:
            send(process.request_fd, {"index": entry.index, "id": entry.id, "path": entry.path})
        except OSError:
            pass  # it died: its reply pipe reports EOF and the entry is failed there

    def _read(self, process: _Process) -> dict[str, Any] | None:
        """The next message, or None when the process has gone (EOF or a frame cut short)."""
        try:
            frame = read_frame(process.reply_fd, MAX_FRAME_BYTES)
            return None if frame is None else json.loads(frame)
        except (OSError, DecodeError, ValueError):
            return None

    def _receive_ready(self, process: _Process) -> None:
        message = self._read(process)
        if message is None or not ("ready" in message or "error" in message):
            status = self._retire(process, kill=True)
            raise InternalError(f"a grading process could not start ({status})")
        if "error" in message:
            error = message["error"]
            self._retire(process, kill=True)
            if error.get("exit_code") == SpecError.exit_code:
                raise SpecError(str(error.get("message")))
            raise InternalError(str(error.get("message")))
        info = AssignmentInfo.from_json(message["ready"])
        if self.info is not None and info != self.info:
            self._retire(process, kill=True)
            raise InternalError("the assignment changed while the batch was running; run it again")
        self.info = info
        process.ready = True

    def _receive(self, process: _Process, pending: deque[Entry], seconds: float) -> Iterator[Graded]:
        if not process.ready:
            self._receive_ready(process)
            return
        entry = process.entries[0] if process.entries else None
        message = self._read(process)
        if message is not None and "graded" in message and entry is not None:
            header = message["graded"]
            texts = {}
            for name in header["formats"]:
                frame = read_frame(process.reply_fd, MAX_FRAME_BYTES)
                if frame is None:
                    break
                texts[name] = frame.decode("utf-8")
            if len(texts) == len(header["formats"]) and header["index"] == entry.index:
                process.entries.popleft()
                process.deadline = time.monotonic() + seconds  # the next entry's turn starts now
                yield Graded(entry, texts, float(header["score"]), float(header["max_score"]), str(header["status"]))
                return
            message = None
        if entry is not None:
            process.entries.popleft()
            pending.extendleft(reversed(process.entries))  # queued behind it: another process takes them
        if message is not None and "failed" in message and entry is not None:
            self._retire(process, kill=False)
            yield _failed(entry, str(message["failed"].get("message")))
        else:
            status = self._retire(process, kill=True)
            if entry is not None:
                yield _failed(entry, f"the grading process died ({status})")
        if pending:
            self._spawn()

    def _retire(self, process: _Process, kill: bool) -> str:
        """Forget a process: close its pipes (it exits on EOF), kill it if asked; returns how it ended, if known."""
        self._processes.pop(process.reply_fd, None)
        with contextlib.suppress(KeyError, ValueError):
            self._poller.unregister(process.reply_fd)
        for fd in (process.request_fd, process.reply_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        self._exited.append(process.pid)
        return _describe_exit(process.pid) if kill else "exited"

    def _reap(self, block: bool) -> None:
        for pid in list(self._exited):
            try:
                done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done == pid:
                self._exited.remove(pid)


def _failed(entry: Entry, message: str) -> Graded:
    return Graded(entry, {}, 0.0, 0.0, "error", message)


def _describe_exit(pid: int) -> str:
    """How a process ended, waiting briefly for it (it was just killed or closed)."""
    for _ in range(200):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return "exit status unknown"
        if done == pid:
            if os.WIFSIGNALED(status):
                number = os.WTERMSIG(status)
                return f"killed by signal {number} ({signal.strsignal(number) or 'unknown'})"
            return f"exit status {os.waitstatus_to_exitcode(status)}"
        time.sleep(0.005)
    return "still running; killed"
