"""Say which step a sandbox worker was on when it could not start, and the system call's error.

A worker that dies while starting leaves the grader nothing but an end of file. Each
fallible step of its start-up runs inside `step`, which turns an OSError into a
`StartFailure` naming the step ("fork the probe child: Resource temporarily unavailable");
the worker sends that to the grader instead of its layer report.
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

from grader.errors import StartFailure


@contextlib.contextmanager
def step(description: str) -> Iterator[None]:
    """Run a start-up step; an OSError inside becomes a StartFailure that names it."""
    try:
        yield
    except OSError as error:
        raise StartFailure(description, error.strerror or str(error)) from error


def failure_text(error: BaseException) -> str:
    """One line for an error that stopped the start: the step and the reason, or the exception itself."""
    if isinstance(error, StartFailure):
        return str(error)
    return f"starting the worker: {type(error).__name__}: {error}"


def exit_text_of(pid: int) -> str:
    """How a child that is ending ended ("exit status 1", "killed by signal 9 (Killed)"); it is reaped here."""
    for _ in range(200):  # it closed its pipes: it is gone, or going, within milliseconds
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
    return "still running"
