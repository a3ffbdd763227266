"""The child's resource limits (the rlimits layer), and what a run that hits a limit is told."""

from __future__ import annotations

import math
import os
import resource

from grader.records import Limits

OPEN_FILES = 64


def cpu_seconds(limits: Limits) -> int:
    """The CPU time one job may use: its wall-clock limit, rounded up, and a second more."""
    return math.ceil(limits.wall_seconds) + 1


def limit_message(kind: str, limits: Limits) -> str:
    """Return the one-line message for hitting a limit."""
    return {
        "timeout": f"took longer than {limits.wall_seconds:g} s",
        "memory-limit": f"used more than {limits.memory_bytes >> 20} MB of memory",
        "output-limit": f"printed more than {limits.output_bytes} bytes",
    }[kind]


def lower_limit(kind: int, soft: int, hard: int | None = None) -> None:
    """Set a resource limit, never above the hard limit already in force."""
    _, current_hard = resource.getrlimit(kind)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
    resource.setrlimit(kind, (min(soft, hard), hard))


def process_allowance() -> int:
    """Return an RLIMIT_NPROC that stops fork bombs but leaves room for BLAS threads.

    The limit counts every process and thread of the user. It cannot be "one": OpenBLAS
    spins forever when it cannot start its threads. The number of tasks on the whole
    system bounds the user's own; it is one read of /proc/loadavg.
    """
    with open("/proc/loadavg") as loadavg:
        tasks = int(loadavg.read().split()[3].partition("/")[2])
    return tasks + 2 * (os.cpu_count() or 1) + 16
