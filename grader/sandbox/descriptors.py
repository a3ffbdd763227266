"""The descriptors of the sandbox's processes: large pipes between them, and closing every one they inherit."""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource

PIPE_BYTES = 1 << 20  # pipe size where allowed: what a writer can send before it waits for the reader


def pipe() -> tuple[int, int]:
    """Return a close-on-exec pipe whose ends are above 0-2, which the worker replaces, as large as allowed.

    Large, so that neither side waits on the other while both work (see Worker.submit).
    """
    ends = []
    for end in os.pipe():
        ends.append(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 3))
        os.close(end)
    with contextlib.suppress(OSError):  # the system's pipe-max-size may be smaller
        fcntl.fcntl(ends[1], fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return ends[0], ends[1]


def close_fds_except(keep: set[int]) -> None:
    """Close every open descriptor of this process that is not in `keep`.

    One close_range system call per gap between the kept ones (os.closerange, Linux 5.9 and
    later; older kernels get a close per number up to the descriptor limit).
    """
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    low = 0
    for high in (*sorted(keep), limit if limit != resource.RLIM_INFINITY else 1 << 30):
        if low < high:  # never an empty range: closerange(0, 0) would close everything
            os.closerange(low, high)
        low = high + 1
