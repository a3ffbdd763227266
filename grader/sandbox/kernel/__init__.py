"""Confine a freshly forked child before it runs student code, one kernel layer at a time.

Layers, applied by `confine` in this order (each one optional, see `Plan`):

- namespaces (namespaces.py): new network, IPC and mount namespaces (and a user namespace
  first when the grader is not root, which is what lets an ordinary user create the others);
- scratch-tmpfs (namespaces.py): a small private tmpfs mounted on the scratch directory, so
  the student can fill neither the disk nor the grader's temporary directory;
- identity (privileges.py): as root, a switch to an unprivileged uid/gid with an empty
  capability set (or, when that user cannot read the Python installation, one capability
  kept so it can, and only when Landlock limits what it reads); otherwise every capability
  dropped;
- no_new_privs (privileges.py), then Landlock (landlock.py: reads only the Python
  installation and system libraries, writes only the scratch directory, no TCP bind/connect,
  no signals or abstract sockets outside the sandbox), then a seccomp filter (seccomp.py)
  denying the system calls student code never needs and that could reach outside (ptrace,
  process_vm_*, mount, new sockets, new processes, signals to other processes, ...).

Everything is done with raw system calls through ctypes (calls.py): no compiled dependency,
nothing that can fail to install. The worker decides once which layers the system allows
(`candidate_plan`, then it probes them in a throw-away child); every job's child then
applies exactly those and fails closed: a layer that worked in the probe and fails later
stops the child before the student's code runs.
"""

from __future__ import annotations

import os
import platform
import signal
from collections.abc import Iterable

from grader.errors import LayerError
from grader.sandbox.kernel.calls import PR_SET_PDEATHSIG, check, libc
from grader.sandbox.kernel.landlock import build_ruleset, landlock_abi, restrict_self
from grader.sandbox.kernel.namespaces import TMPFS_INODES, enter_namespaces, mount_scratch
from grader.sandbox.kernel.plan import (
    DIE_WITH_WORKER,
    IPC_NAMESPACE,
    KERNEL_LAYERS,
    LANDLOCK,
    LANDLOCK_FILES,
    LANDLOCK_NETWORK,
    LANDLOCK_SCOPE,
    NAMESPACES,
    NETWORK_NAMESPACE,
    NO_CAPABILITIES,
    SCRATCH_TMPFS,
    SECCOMP,
    UNPRIVILEGED_USER,
    USER_NAMESPACE,
    Plan,
)
from grader.sandbox.kernel.privileges import (
    can_keep_read_search,
    drop_bounding_set,
    drop_privileges,
    effective_capabilities,
    forbid_new_privileges,
    make_grader_non_dumpable,
)
from grader.sandbox.kernel.seccomp import DENIED, RESTRICTED, install_seccomp, seccomp_architecture, seccomp_template

__all__ = [
    "DENIED",
    "IPC_NAMESPACE",
    "KERNEL_LAYERS",
    "LANDLOCK",
    "LANDLOCK_FILES",
    "LANDLOCK_NETWORK",
    "LANDLOCK_SCOPE",
    "NAMESPACES",
    "NETWORK_NAMESPACE",
    "NO_CAPABILITIES",
    "RESTRICTED",
    "SCRATCH_TMPFS",
    "SECCOMP",
    "TMPFS_INODES",
    "UNPRIVILEGED_USER",
    "USER_NAMESPACE",
    "Plan",
    "can_keep_read_search",
    "candidate_plan",
    "confine",
    "drop_bounding_set",
    "effective_capabilities",
    "landlock_abi",
    "make_grader_non_dumpable",
    "seccomp_architecture",
]


def candidate_plan(uid: int | None, gid: int | None, scratch_bytes: int, without: Iterable[str], scratch: str,
                   hidden: Iterable[str]) -> Plan:
    """Return the plan to try first: every layer this process can plausibly apply.

    Args:
        uid, gid: Identity to switch to when running as root (None: do not switch).
        scratch_bytes: Size of the scratch tmpfs.
        without: Layers not to apply (for measurements and tests).
        scratch: The directory under which each child's scratch directory is made.
        hidden: Directories that must stay unreadable (the grader and its assignments).
    """
    root = os.geteuid() == 0
    layers = set(KERNEL_LAYERS) - set(without)
    details: dict[str, str] = {}
    if root:
        layers.discard(USER_NAMESPACE)  # root creates the other namespaces without one
        details[USER_NAMESPACE] = "not needed: the grader runs as root"
        if uid is None or gid is None:
            layers.discard(UNPRIVILEGED_USER)
            details[UNPRIVILEGED_USER] = "no unprivileged user to switch to"
    abi = landlock_abi()
    if abi == 0:
        layers.difference_update(LANDLOCK)
        for name in LANDLOCK:
            details[name] = "the kernel has no Landlock (needs Linux 5.13+ with landlock in the LSM list)"
    if abi < 4:
        layers.discard(LANDLOCK_NETWORK)
        details.setdefault(LANDLOCK_NETWORK, f"Landlock ABI {abi} has no network rules (needs 4, Linux 6.7+)")
    if abi < 6:
        layers.discard(LANDLOCK_SCOPE)
        details.setdefault(LANDLOCK_SCOPE, f"Landlock ABI {abi} has no signal scoping (needs 6, Linux 6.12+)")
    if seccomp_architecture() is None:
        layers.discard(SECCOMP)
        details[SECCOMP] = f"no system-call table for {platform.machine()}"
    if SECCOMP in layers and NETWORK_NAMESPACE in layers:
        # It costs ~0.8 ms per child (and kernel work after), and adds nothing once no socket can be made.
        layers.discard(NETWORK_NAMESPACE)
        details[NETWORK_NAMESPACE] = "not needed: the seccomp filter denies creating any socket"
    ruleset_fd = -1
    if LANDLOCK_FILES in layers:
        try:
            ruleset_fd = build_ruleset(abi, layers, scratch, hidden)
        except LayerError as error:
            layers.difference_update(LANDLOCK)
            for name in LANDLOCK:
                details[name] = str(error)
    else:
        layers.difference_update((LANDLOCK_NETWORK, LANDLOCK_SCOPE))  # one ruleset carries all three
    with open("/proc/sys/kernel/cap_last_cap") as last:
        last_capability = int(last.read())
    architecture = seccomp_architecture()
    template = seccomp_template(architecture) if architecture is not None and SECCOMP in layers else b""
    return Plan(frozenset(layers), root, uid if root and uid is not None else os.getuid(),
                gid if root and gid is not None else os.getgid(), False, scratch_bytes, abi, ruleset_fd,
                last_capability, template, details=details)


def confine(plan: Plan, scratch: str, parent_pid: int | None = None) -> None:
    """Apply the plan's layers to this process, which will then run student code.

    Args:
        plan: What to apply.
        scratch: This child's scratch directory (it becomes the working directory).
        parent_pid: The process this one must die with (PR_SET_PDEATHSIG), asked once the user has
            changed, which makes the kernel forget the request, and before seccomp forbids asking.

    Raises:
        LayerError: A layer failed; the caller must not run student code.
    """
    enter_namespaces(plan)
    if SCRATCH_TMPFS in plan.layers:
        mount_scratch(plan, scratch)
    os.chdir(scratch)
    drop_privileges(plan)
    if parent_pid is not None:
        check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), DIE_WITH_WORKER, "PR_SET_PDEATHSIG")
        if os.getppid() != parent_pid:
            raise LayerError(DIE_WITH_WORKER, "the worker ended while the child was being set up")
    forbid_new_privileges()
    if plan.ruleset_fd >= 0:
        restrict_self(plan.ruleset_fd)
    if SECCOMP in plan.layers:
        install_seccomp(plan.seccomp_template, os.getpid())
