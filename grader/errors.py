"""Grader failures: every exception the grader raises on purpose, each with its exit code.

A student's broken notebook is never one of these: it is a graded result. These are for
the grader's own users (a bad command line, a bad assignment spec) and for the grader
itself failing.
"""
from __future__ import annotations

import signal


class GraderError(Exception):
    """Root of every deliberate grader failure; `exit_code` is what the CLI exits with."""

    exit_code = 3


class UsageError(GraderError):
    """The command line asks for something impossible (no such path, bad option value)."""

    exit_code = 2


class SpecError(GraderError):
    """An assignment spec is invalid; `path` names the file and `key` the offending entry."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        where = ": ".join(part for part in (path, key) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.key = key


class InternalError(GraderError):
    """The grader itself failed (the sandbox worker died, a reference solution raised)."""

    exit_code = 3


class Interrupted(KeyboardInterrupt):
    """A signal (Ctrl-C, SIGTERM, SIGHUP) stopped the grader; it exits 128 + the signal's number, as shells expect.

    Not a GraderError: like Ctrl-C's KeyboardInterrupt, it must pass through every `except Exception`
    (around instructor code, say) on its way out.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum

    @classmethod
    def of(cls, stop: KeyboardInterrupt) -> Interrupted:
        """The Interrupted a KeyboardInterrupt stands for (Ctrl-C's own is SIGINT)."""
        return stop if isinstance(stop, Interrupted) else cls(signal.SIGINT)


class OutputClosed(GraderError):
    """Standard output was closed by its reader (`grade ... | head`): not a failure, but nothing more can be said.

    The exit status is that of a process killed by SIGPIPE, which is what a pipeline's reader expects.
    """

    exit_code = 128 + signal.SIGPIPE
