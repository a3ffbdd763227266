"""The kernel layers by name, and the Plan that says which of them every child of a worker applies."""

from __future__ import annotations

from dataclasses import dataclass, field

# Layers of the child, in the order `confine` applies them.
USER_NAMESPACE = "user-namespace"
NETWORK_NAMESPACE = "network-namespace"
IPC_NAMESPACE = "ipc-namespace"
SCRATCH_TMPFS = "scratch-tmpfs"
UNPRIVILEGED_USER = "unprivileged-user"
NO_CAPABILITIES = "no-capabilities"
LANDLOCK_FILES = "landlock-files"
LANDLOCK_NETWORK = "landlock-network"
LANDLOCK_SCOPE = "landlock-scope"
SECCOMP = "seccomp"
NAMESPACES = (USER_NAMESPACE, NETWORK_NAMESPACE, IPC_NAMESPACE)
LANDLOCK = (LANDLOCK_FILES, LANDLOCK_NETWORK, LANDLOCK_SCOPE)
KERNEL_LAYERS = (*NAMESPACES, SCRATCH_TMPFS, UNPRIVILEGED_USER, NO_CAPABILITIES, *LANDLOCK, SECCOMP)
DIE_WITH_WORKER = "die-with-worker"  # not a layer one can do without: a child that cannot ask runs nothing


@dataclass(frozen=True, slots=True)
class Plan:
    """The confinement every child of one worker applies; decided once, inherited through fork."""

    layers: frozenset[str]  # the kernel layers to apply (names from KERNEL_LAYERS)
    root: bool  # the grader runs as root
    uid: int  # identity to switch to (root only) or the grader's own
    gid: int
    keep_read_search: bool  # keep CAP_DAC_READ_SEARCH after the switch (see grader.sandbox.kernel)
    scratch_bytes: int  # size of the scratch tmpfs
    landlock_abi: int  # 0 when the kernel has no Landlock
    ruleset_fd: int  # Landlock ruleset built by the worker, -1 when none
    last_capability: int  # highest capability number the kernel knows
    seccomp_template: bytes = b""  # the filter with placeholders for the child's pid (see seccomp_template)
    bounding_set_dropped: bool = False  # the worker emptied its own bounding set: children inherit it (root only)
    details: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    """Layer → what it does here (shown to humans)."""
