"""System calls through ctypes, and the LayerError a failed one raises, naming its layer.

Raw calls, not a compiled dependency: nothing that can fail to install.
"""

from __future__ import annotations

import ctypes
import os

from grader.errors import LayerError

# prctl options that more than one layer uses.
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4

libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, layer: str, what: str) -> int:
    """Raise LayerError for a failed libc call (-1 with errno set)."""
    if result == -1:
        code = ctypes.get_errno()
        raise LayerError(layer, f"{what}: {os.strerror(code)} (errno {code})")
    return result


def syscall(number: int, *arguments: object) -> int:
    return int(libc.syscall(ctypes.c_long(number), *arguments))
