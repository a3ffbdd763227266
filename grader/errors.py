"""Grader failures: every exception the grader raises on purpose, one tree, each with its exit code.

A student's broken notebook is never one of these: it is a graded result. These are for
the grader's own users (a bad command line, a bad assignment spec) and for the grader
itself failing.

    GraderError                    exit 3 unless said otherwise
    ├── UsageError                 exit 2: the command line asks for something impossible
    ├── SpecError                  exit 2: an assignment spec is invalid
    ├── ResultFileError            a result file is not a grader.result/1 result
    ├── OutputClosed               exit 141: standard output was closed by its reader
    └── InternalError              the grader itself failed
        ├── DecodeError            a message is not well-formed (student data: a bad result)
        │   └── TooLarge           an encoding would exceed the size allowed
        └── SandboxError           the sandbox cannot run student code
            ├── WorkerStartError   the worker could not start (says the step)
            ├── StartFailure       a step of the worker's start-up failed (inside the worker)
            └── LayerError         a layer could not be applied in a child (it runs nothing)

Interrupted (a signal stopped the grader) is a KeyboardInterrupt, not a GraderError: see it.
"""
from __future__ import annotations

import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.records import Layer


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


class ResultFileError(GraderError):
    """A result file is not a `grader.result/1` result; the message names the field."""


class InternalError(GraderError):
    """The grader itself failed (the sandbox worker died, a reference solution raised)."""

    exit_code = 3


class DecodeError(InternalError):
    """Data that is not a well-formed message of the codec (from a child: a bad result, not a grader failure)."""


class TooLarge(DecodeError):
    """A value whose encoding would exceed the size the caller allows."""


class SandboxError(InternalError):
    """The sandbox worker is closed or died, so the grader cannot run student code."""


class WorkerStartError(SandboxError):
    """The sandbox worker could not start; `reason` names the step and the error, `layers` is the table to show."""

    def __init__(self, reason: str, layers: tuple[Layer, ...]) -> None:
        super().__init__(f"the sandbox worker could not start: {reason}")
        self.reason = reason
        self.layers = layers


class StartFailure(SandboxError):
    """A step of the worker's start-up failed; str() says which and why."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


class LayerError(SandboxError):
    """A layer could not be applied; `layer` names it (the child then runs no student code)."""

    def __init__(self, layer: str, message: str) -> None:
        super().__init__(f"{layer}: {message}")
        self.layer = layer


class OutputClosed(GraderError):
    """Standard output was closed by its reader (`grade ... | head`): not a failure, but nothing more can be said.

    The exit status is that of a process killed by SIGPIPE, which is what a pipeline's reader expects.
    """

    exit_code = 128 + signal.SIGPIPE


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
