"""No process of the grader outlives it: stop signals become exceptions, forked processes die with their parent.

The grader's main process turns SIGTERM and SIGHUP into `Interrupted` (Ctrl-C is Python's
KeyboardInterrupt already), so that it can stop what it started and exit 128 + the signal's
number. Every process it forks (grading processes, sandbox workers, their children) asks the
kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG), so that even a grader killed with
SIGKILL leaves nothing running: the chain unwinds within milliseconds.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Iterator

from grader.errors import Interrupted

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise Interrupted in the main thread (as SIGINT raises KeyboardInterrupt)."""
    def stop(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def die_with_parent(parent_pid: int) -> None:
    """In a freshly forked process: be killed when the parent dies, and stop now if it already has.

    Also restores the default action of the stop signals (the parent's handlers raise exceptions
    into code this process must never return to) and ignores Ctrl-C, which is the grader's to handle.
    Call it again after changing user: the kernel forgets the request on a change of credentials.
    """
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(1)
