"""Scratch directories: where each child may write, made for it and removed after it, and leftovers of killed workers.

Each worker makes one folder in the temporary directory (named after its pid, see
`scratch_prefix`), and each child gets a directory under it (`scratch_path`). The worker holds
a lock on a file in its folder for as long as it lives (`claim`): a folder whose lock can be
taken belongs to a worker that was killed. The pid in the name cannot tell that: a grader in
another pid namespace (a container, `unshare -p`) sees none of this one's processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import tempfile
import time
from typing import Any

from grader.errors import LayerError
from grader.sandbox import kernel, startup


def scratch_prefix(worker_pid: int) -> str:
    return f"grader-sandbox-{worker_pid}-"


def scratch_path(scratch_base: str) -> str:
    return os.path.join(scratch_base, "job")


def make_scratch(scratch_base: str, plan: kernel.Plan) -> str:
    """Create a fresh scratch directory for one child, owned by the user the child runs as.

    With a scratch tmpfs, each child mounts its own over the directory, in its own mount
    namespace, before any student code runs: the directory itself stays empty, and is reused.

    Raises:
        LayerError: The folder cannot be given to the unprivileged user (the uid is not mapped here).
        StartFailure: The folder cannot be made.
    """
    scratch = scratch_path(scratch_base)
    if kernel.SCRATCH_TMPFS in plan.layers and os.path.isdir(scratch) and not os.path.islink(scratch):
        return scratch
    if os.path.lexists(scratch):
        remove_tree(scratch)
    with startup.step(f"make the scratch folder {scratch}"):
        os.mkdir(scratch, 0o700)
    if plan.root and kernel.UNPRIVILEGED_USER in plan.layers:
        try:
            os.chmod(scratch_base, 0o711)  # the user may pass through the base, not list it
            os.chown(scratch, plan.uid, plan.gid)
        except OSError as error:
            remove_tree(scratch)
            raise LayerError(kernel.UNPRIVILEGED_USER, f"chown scratch to {plan.uid}: {error.strerror}") from None
    return scratch


def remove_scratch(scratch: str, plan: kernel.Plan) -> None:
    """Remove what a child wrote in its scratch directory (nothing, with a scratch tmpfs: see make_scratch)."""
    if kernel.SCRATCH_TMPFS not in plan.layers:
        remove_tree(scratch)


def remove_tree(path: str) -> None:
    """Remove a directory tree, even one whose modes the student changed."""

    def make_writable(function: Any, failed: str, info: Any) -> None:
        if isinstance(info[1], FileNotFoundError):
            return  # gone already (another grader removing the same leftover)
        with contextlib.suppress(OSError):
            if failed != path:  # never the folder the tree is in (/tmp)
                os.chmod(os.path.dirname(failed), 0o700)
            os.chmod(failed, 0o700)
            function(failed)

    shutil.rmtree(path, onerror=make_writable)
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


_OWNER_FILE = ".owner"
_UNCLAIMED_SECONDS = 60.0  # a folder made without a lock (an older grader's) is left alone this long


def claim(scratch_base: str) -> int:
    """Lock the worker's folder for as long as this process lives; returns the descriptor (keep it open)."""
    fd = os.open(os.path.join(scratch_base, _OWNER_FILE), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _abandoned(path: str) -> bool:
    """Whether a worker's folder belongs to no live worker (its lock can be taken)."""
    owner = os.path.join(path, _OWNER_FILE)
    try:
        fd = os.open(owner, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        # No lock: a folder of an older grader, or one being made this instant. Only an old one whose
        # pid is gone is abandoned (a pid this namespace cannot see is not proof enough on its own).
        try:
            os.kill(int(os.path.basename(path).split("-")[2]), 0)
            return False
        except ProcessLookupError:
            return time.time() - os.stat(path).st_mtime > _UNCLAIMED_SECONDS
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def remove_leftovers() -> None:
    """Remove the scratch folders of workers that were killed (with their grader) before cleaning up."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "grader-sandbox-[0-9]*-*")):
        try:
            if os.stat(path).st_uid == os.geteuid() and _abandoned(path):
                remove_tree(path)
        except (OSError, ValueError):
            continue


def remove_scratch_of(worker_pid: int) -> None:
    """Remove the scratch folder of a worker that is gone (a worker that was killed could not)."""
    for leftover in glob.glob(os.path.join(tempfile.gettempdir(), f"{scratch_prefix(worker_pid)}*")):
        remove_tree(leftover)
