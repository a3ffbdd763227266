"""Namespaces: new network, IPC and mount namespaces for the child, and its private scratch tmpfs.

When the grader is not root, a user namespace comes first: it is what lets an ordinary user
create the others (and mount the tmpfs).
"""

from __future__ import annotations

import ctypes
import os

from grader.errors import LayerError
from grader.sandbox.kernel.calls import PR_SET_DUMPABLE, check, libc
from grader.sandbox.kernel.plan import IPC_NAMESPACE, NETWORK_NAMESPACE, SCRATCH_TMPFS, USER_NAMESPACE, Plan

CLONE_THREAD = 0x00010000
NAMESPACE_FLAGS = 0x7E020000  # every CLONE_NEW* flag
_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18
TMPFS_INODES = 4096


def enter_namespaces(plan: Plan) -> None:
    """Move this process into the new namespaces the plan asks for (the mount namespace with the tmpfs)."""
    layers = plan.layers
    if USER_NAMESPACE in layers:
        check(libc.unshare(_CLONE_NEWUSER), USER_NAMESPACE, "unshare")
        _map_identity(plan)
    # One call each, so that a failure names its namespace (together they cost the same).
    for layer, flag in ((NETWORK_NAMESPACE, _CLONE_NEWNET), (IPC_NAMESPACE, _CLONE_NEWIPC),
                        (SCRATCH_TMPFS, _CLONE_NEWNS)):
        if layer in layers:
            check(libc.unshare(flag), layer, "unshare")


def _write(path: str, text: str, layer: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    except OSError as error:
        raise LayerError(layer, f"writing {path}: {error.strerror}") from None


def _map_identity(plan: Plan) -> None:
    """Map the grader's own uid/gid into the new user namespace (files in the tmpfs need it)."""
    # /proc/self of a non-dumpable process belongs to root: become dumpable for the writes.
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    _write("/proc/self/setgroups", "deny", USER_NAMESPACE)
    _write("/proc/self/uid_map", f"{plan.uid} {plan.uid} 1", USER_NAMESPACE)
    _write("/proc/self/gid_map", f"{plan.gid} {plan.gid} 1", USER_NAMESPACE)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def mount_scratch(plan: Plan, scratch: str) -> None:
    """Mount a private, size-limited tmpfs on the scratch directory, in this child's mount namespace."""
    check(libc.mount(None, b"/", None, ctypes.c_ulong(_MS_REC | _MS_PRIVATE), None), SCRATCH_TMPFS,
          "making mounts private")
    options = f"size={plan.scratch_bytes},nr_inodes={TMPFS_INODES},mode=0700"
    if plan.root:
        options += f",uid={plan.uid},gid={plan.gid}"
    check(libc.mount(b"grader-scratch", os.fsencode(scratch), b"tmpfs",
                     ctypes.c_ulong(_MS_NOSUID | _MS_NODEV | _MS_NOEXEC), options.encode()),
          SCRATCH_TMPFS, "mounting the scratch tmpfs")
