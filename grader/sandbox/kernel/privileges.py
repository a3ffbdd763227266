"""Privileges: the switch to an unprivileged user, capabilities, no_new_privs, and a non-dumpable grader.

As root, the child switches to an unprivileged uid/gid with an empty capability set (or, when
that user cannot read the Python installation, one capability kept so it can, and only when
Landlock limits what it reads); otherwise every capability is dropped. The bounding set goes
too, where there is one worth emptying.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import os

from grader.errors import LayerError
from grader.sandbox.kernel.calls import PR_SET_DUMPABLE, check, libc
from grader.sandbox.kernel.plan import NO_CAPABILITIES, SECCOMP, UNPRIVILEGED_USER, USER_NAMESPACE, Plan

_PR_SET_KEEPCAPS = 8
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_CAP_DAC_READ_SEARCH = 2
_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _set_capabilities(layer: str, keep: int | None) -> None:
    """Set this thread's capabilities to nothing, or to the one capability `keep`."""
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if keep is not None:
        data[keep // 32].effective = data[keep // 32].permitted = 1 << (keep % 32)
    check(libc.capset(ctypes.byref(header), data), layer, "capset")


def effective_capabilities() -> int:
    """Return this thread's effective capability bits."""
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    check(libc.capget(ctypes.byref(header), data), NO_CAPABILITIES, "capget")
    return data[0].effective | data[1].effective << 32


def can_keep_read_search() -> bool:
    """Whether this process holds CAP_DAC_READ_SEARCH, so that a child switching users may keep it.

    A container's root often lacks it (Docker does not grant it): then there is nothing to keep.
    """
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    check(libc.capget(ctypes.byref(header), data), NO_CAPABILITIES, "capget")
    return bool(data[0].permitted & 1 << _CAP_DAC_READ_SEARCH)


def drop_bounding_set(plan: Plan) -> Plan:
    """In a root worker: empty its own bounding set once, for every child to inherit.

    The bounding set limits only what exec grants, and the worker never execs. Returns the
    plan, saying so where it was done.
    """
    if not plan.root or USER_NAMESPACE in plan.layers or not {NO_CAPABILITIES, UNPRIVILEGED_USER} & plan.layers:
        return plan
    try:
        _empty_bounding_set(plan)
    except LayerError:
        return plan  # each child tries, and fails closed
    return dataclasses.replace(plan, bounding_set_dropped=True)


def _empty_bounding_set(plan: Plan) -> None:
    keep = _CAP_DAC_READ_SEARCH if plan.keep_read_search else None
    for capability in range(plan.last_capability + 1):
        if capability != keep and libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) == -1:
            if ctypes.get_errno() != errno.EINVAL:  # EINVAL: a capability this kernel lacks
                check(-1, NO_CAPABILITIES, "dropping the bounding set")


def drop_privileges(plan: Plan) -> None:
    """Drop capabilities (the bounding set too) and, as root, switch to the unprivileged user."""
    keep = _CAP_DAC_READ_SEARCH if plan.keep_read_search else None
    # Only root, or the owner of a new user namespace, has a bounding set worth emptying (and may).
    if (NO_CAPABILITIES in plan.layers or UNPRIVILEGED_USER in plan.layers) and \
            (plan.root or USER_NAMESPACE in plan.layers) and not plan.bounding_set_dropped:
        _empty_bounding_set(plan)
    if plan.root and UNPRIVILEGED_USER in plan.layers:
        try:
            os.setgroups([])
            os.setresgid(plan.gid, plan.gid, plan.gid)
            if keep is not None:
                check(libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0), UNPRIVILEGED_USER, "PR_SET_KEEPCAPS")
            os.setresuid(plan.uid, plan.uid, plan.uid)
        except OSError as error:
            raise LayerError(UNPRIVILEGED_USER, f"switching to uid {plan.uid}: {error.strerror}") from None
    if NO_CAPABILITIES in plan.layers or keep is not None:
        _set_capabilities(NO_CAPABILITIES, keep)


def forbid_new_privileges() -> None:
    """Set no_new_privs: exec can grant nothing from now on, and seccomp may be installed without root."""
    check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), SECCOMP, "PR_SET_NO_NEW_PRIVS")


def make_grader_non_dumpable() -> str | None:
    """Make this process non-dumpable (no core dumps, no ptrace or /proc/PID/mem by its own user).

    Returns:
        None on success, else why it failed.
    """
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1:
        return os.strerror(ctypes.get_errno())
    return None
