"""Confine a freshly forked child before it runs student code, one kernel layer at a time.

Layers, applied by `confine` in this order (each one optional, see `Plan`):

- namespaces: new network, IPC and mount namespaces (and a user namespace first when the
  grader is not root, which is what lets an ordinary user create the others);
- scratch-tmpfs: a small private tmpfs mounted on the scratch directory, so the student
  can fill neither the disk nor the grader's temporary directory;
- identity: as root, a switch to an unprivileged uid/gid with an empty capability set
  (or, when that user cannot read the Python installation, one capability kept so it can,
  and only when Landlock limits what it reads); otherwise every capability dropped;
- no_new_privs, then Landlock (reads only the Python installation and system libraries,
  writes only the scratch directory, no TCP bind/connect, no signals or abstract sockets
  outside the sandbox), then a seccomp filter denying the system calls student code never
  needs and that could reach outside (ptrace, process_vm_*, mount, new sockets, new
  processes, signals to other processes, ...).

Everything is done with raw system calls through ctypes: no compiled dependency, nothing
that can fail to install. The worker decides once which layers the system allows (it
probes them in a throw-away child); every job's child then applies exactly those and
fails closed: a layer that worked in the probe and fails later stops the child before the
student's code runs.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import os
import platform
import signal
import site
import struct
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass, field

from grader.errors import LayerError

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

_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_CLONE_THREAD = 0x00010000
_NAMESPACE_FLAGS = 0x7E020000  # every CLONE_NEW* flag
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18
_PR_SET_DUMPABLE = 4
_PR_SET_PDEATHSIG = 1
_DIE_WITH_WORKER = "die-with-worker"  # not a layer one can do without: a child that cannot ask runs nothing
_PR_SET_KEEPCAPS = 8
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_CAP_DAC_READ_SEARCH = 2
_CAPABILITY_VERSION_3 = 0x20080522
_TMPFS_INODES = 4096

# Landlock (linux/landlock.h): the same syscall numbers on every architecture.
_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_MAKE_CHAR, _FS_MAKE_BLOCK = 1 << 6, 1 << 11
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True, slots=True)
class Plan:
    """The confinement every child of one worker applies; decided once, inherited through fork."""

    layers: frozenset[str]  # the kernel layers to apply (names from KERNEL_LAYERS)
    root: bool  # the grader runs as root
    uid: int  # identity to switch to (root only) or the grader's own
    gid: int
    keep_read_search: bool  # keep CAP_DAC_READ_SEARCH after the switch (see the module docstring)
    scratch_bytes: int  # size of the scratch tmpfs
    landlock_abi: int  # 0 when the kernel has no Landlock
    ruleset_fd: int  # Landlock ruleset built by the worker, -1 when none
    last_capability: int  # highest capability number the kernel knows
    seccomp_template: bytes = b""  # the filter with placeholders for the child's pid (see seccomp_template)
    bounding_set_dropped: bool = False  # the worker emptied its own bounding set: children inherit it (root only)
    details: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    """Layer → what it does here (shown to humans)."""


def _check(result: int, layer: str, what: str) -> int:
    """Raise LayerError for a failed libc call (-1 with errno set)."""
    if result == -1:
        code = ctypes.get_errno()
        raise LayerError(layer, f"{what}: {os.strerror(code)} (errno {code})")
    return result


def _syscall(number: int, *arguments: object) -> int:
    return int(_libc.syscall(ctypes.c_long(number), *arguments))


# ---- Deciding (in the worker) ---------------------------------------------------------


def landlock_abi() -> int:
    """Return the kernel's Landlock ABI version, 0 when Landlock is missing or disabled."""
    version = _syscall(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    return max(version, 0)


def seccomp_architecture() -> str | None:
    """Return the architecture the seccomp filter is written for, or None if unsupported."""
    machine = platform.machine()
    return machine if machine in _SYSCALLS else None


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


def readable_roots() -> list[str]:
    """Return the directories student code may read: the Python installation and system libraries."""
    paths = sysconfig.get_paths()
    roots = [paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths]
    roots += site.getsitepackages() if hasattr(site, "getsitepackages") else []
    roots.append(site.getusersitepackages())
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots += [os.path.join(prefix, lib) for prefix in prefixes for lib in ("lib", "lib64")]
    # Entries that .pth files add (Debian's dist-packages); never the current or script directory.
    roots += [entry for entry in sys.path if entry and os.path.basename(entry) in ("site-packages", "dist-packages")]
    roots += ["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib"]
    return sorted({os.path.realpath(root) for root in roots if os.path.isdir(root)})


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def allowed_paths(roots: Iterable[str], hidden: Iterable[str]) -> list[str]:
    """Return paths covering `roots` except the `hidden` directories (Landlock only adds rights).

    A root that contains a hidden directory is replaced by its entries, recursively, down
    to the hidden directory's siblings.
    """
    hidden = [os.path.realpath(path) for path in hidden]
    allowed: list[str] = []
    pending = [root for root in roots if not any(_inside(root, secret) for secret in hidden)]
    while pending:
        folder = pending.pop()
        if not any(_inside(secret, folder) for secret in hidden):
            allowed.append(folder)
            continue
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            target = os.path.realpath(entry.path)
            if any(_inside(target, secret) for secret in hidden):
                continue
            if any(_inside(secret, target) for secret in hidden):
                pending.append(target)
            else:
                allowed.append(target)
    return sorted(set(allowed))


def build_ruleset(abi: int, layers: Iterable[str], scratch: str, hidden: Iterable[str]) -> int:
    """Create the Landlock ruleset for every child of a worker; return its descriptor.

    Reading: the Python installation and system libraries (minus `hidden`) and a few
    devices. Writing: the scratch directory only. Network and scopes per `layers`.
    """
    layers = set(layers)
    handled_fs = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        handled_fs |= _FS_REFER
    if abi >= 3:
        handled_fs |= _FS_TRUNCATE
    if abi >= 5:
        handled_fs |= _FS_IOCTL_DEV
    handled_net = _NET_BIND_TCP | _NET_CONNECT_TCP if LANDLOCK_NETWORK in layers else 0
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if LANDLOCK_SCOPE in layers else 0
    attributes = struct.pack("=QQQ", handled_fs, handled_net, scoped)
    buffer = ctypes.create_string_buffer(attributes, len(attributes))
    ruleset = _check(_syscall(_LANDLOCK_CREATE_RULESET, buffer, ctypes.c_size_t(len(attributes)), ctypes.c_uint32(0)),
                     LANDLOCK_FILES, "landlock_create_ruleset")
    read_file = _FS_READ_FILE
    read_tree = _FS_READ_FILE | _FS_READ_DIR
    device = (_FS_READ_FILE | _FS_WRITE_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV) & handled_fs
    scratch_rights = handled_fs & ~(_FS_EXECUTE | _FS_MAKE_CHAR | _FS_MAKE_BLOCK | _FS_IOCTL_DEV)
    rules = [(path, read_tree if os.path.isdir(path) else read_file) for path in allowed_paths(readable_roots(), hidden)]
    rules += [("/dev/null", device), ("/dev/zero", read_file), ("/dev/urandom", read_file), ("/dev/random", read_file),
              ("/etc/ld.so.cache", read_file), (scratch, scratch_rights)]
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a device or file this system does not have
            try:
                rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
                _check(_syscall(_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, rule, ctypes.c_uint32(0)),
                       LANDLOCK_FILES, f"landlock_add_rule {path}")
            finally:
                os.close(fd)
    except BaseException:
        os.close(ruleset)
        raise
    # Above 0-2 and close-on-exec, like the worker's pipes.
    return ruleset


# ---- Applying (in each child) ---------------------------------------------------------


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
    layers = plan.layers
    if USER_NAMESPACE in layers:
        _check(_libc.unshare(_CLONE_NEWUSER), USER_NAMESPACE, "unshare")
        _map_identity(plan)
    # One call each, so that a failure names its namespace (together they cost the same).
    for layer, flag in ((NETWORK_NAMESPACE, _CLONE_NEWNET), (IPC_NAMESPACE, _CLONE_NEWIPC), (SCRATCH_TMPFS, _CLONE_NEWNS)):
        if layer in layers:
            _check(_libc.unshare(flag), layer, "unshare")
    if SCRATCH_TMPFS in layers:
        _mount_scratch(plan, scratch)
    os.chdir(scratch)
    _drop_privileges(plan)
    if parent_pid is not None:
        _check(_libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), _DIE_WITH_WORKER, "PR_SET_PDEATHSIG")
        if os.getppid() != parent_pid:
            raise LayerError(_DIE_WITH_WORKER, "the worker ended while the child was being set up")
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), SECCOMP, "PR_SET_NO_NEW_PRIVS")
    if plan.ruleset_fd >= 0:
        _check(_syscall(_LANDLOCK_RESTRICT_SELF, plan.ruleset_fd, ctypes.c_uint32(0)), LANDLOCK_FILES,
               "landlock_restrict_self")
        os.close(plan.ruleset_fd)
    if SECCOMP in layers:
        install_seccomp(plan.seccomp_template, os.getpid())


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
    _libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
    _write("/proc/self/setgroups", "deny", USER_NAMESPACE)
    _write("/proc/self/uid_map", f"{plan.uid} {plan.uid} 1", USER_NAMESPACE)
    _write("/proc/self/gid_map", f"{plan.gid} {plan.gid} 1", USER_NAMESPACE)
    _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def _mount_scratch(plan: Plan, scratch: str) -> None:
    """Mount a private, size-limited tmpfs on the scratch directory, in this child's mount namespace."""
    _check(_libc.mount(None, b"/", None, ctypes.c_ulong(_MS_REC | _MS_PRIVATE), None), SCRATCH_TMPFS,
           "making mounts private")
    options = f"size={plan.scratch_bytes},nr_inodes={_TMPFS_INODES},mode=0700"
    if plan.root:
        options += f",uid={plan.uid},gid={plan.gid}"
    _check(_libc.mount(b"grader-scratch", os.fsencode(scratch), b"tmpfs",
                       ctypes.c_ulong(_MS_NOSUID | _MS_NODEV | _MS_NOEXEC), options.encode()),
           SCRATCH_TMPFS, "mounting the scratch tmpfs")


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
    _check(_libc.capset(ctypes.byref(header), data), layer, "capset")


def effective_capabilities() -> int:
    """Return this thread's effective capability bits."""
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capget(ctypes.byref(header), data), NO_CAPABILITIES, "capget")
    return data[0].effective | data[1].effective << 32


def can_keep_read_search() -> bool:
    """Whether this process holds CAP_DAC_READ_SEARCH, so that a child switching users may keep it.

    A container's root often lacks it (Docker does not grant it): then there is nothing to keep.
    """
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capget(ctypes.byref(header), data), NO_CAPABILITIES, "capget")
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
        if capability != keep and _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) == -1:
            if ctypes.get_errno() != errno.EINVAL:  # EINVAL: a capability this kernel lacks
                _check(-1, NO_CAPABILITIES, "dropping the bounding set")


def _drop_privileges(plan: Plan) -> None:
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
                _check(_libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0), UNPRIVILEGED_USER, "PR_SET_KEEPCAPS")
            os.setresuid(plan.uid, plan.uid, plan.uid)
        except OSError as error:
            raise LayerError(UNPRIVILEGED_USER, f"switching to uid {plan.uid}: {error.strerror}") from None
    if NO_CAPABILITIES in plan.layers or keep is not None:
        _set_capabilities(NO_CAPABILITIES, keep)


# ---- seccomp ---------------------------------------------------------------------------

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_SYSCALL_BIT = 0x40000000
# name: (x86_64, aarch64); None where the architecture lacks the call.
_SYSCALLS: dict[str, dict[str, int]] = {"x86_64": {}, "aarch64": {}}
_TABLE = """
ptrace 101 117; process_vm_readv 310 270; process_vm_writev 311 271; kcmp 312 272; pidfd_open 434 434
pidfd_getfd 438 438; pidfd_send_signal 424 424; kill 62 129; tkill 200 130; tgkill 234 131
rt_sigqueueinfo 129 138; rt_tgsigqueueinfo 297 240; mount 165 40; umount2 166 39; pivot_root 155 41
chroot 161 51; move_mount 429 429; open_tree 428 428; fsopen 430 430; fsconfig 431 431; fsmount 432 432
fspick 433 433; mount_setattr 442 442; unshare 272 97; setns 308 268; clone 56 220; clone3 435 435
fork 57 -; vfork 58 -; execve 59 221; execveat 322 281; socket 41 198; bpf 321 280; perf_event_open 298 241
userfaultfd 323 282; io_uring_setup 425 425; io_uring_enter 426 426; io_uring_register 427 427
keyctl 250 219; add_key 248 217; request_key 249 218; init_module 175 105; finit_module 313 273
delete_module 176 106; kexec_load 246 104; kexec_file_load 320 294; reboot 169 142; swapon 167 224
swapoff 168 225; acct 163 89; syslog 103 116; quotactl 179 60; quotactl_fd 443 443; name_to_handle_at 303 264
open_by_handle_at 304 265; lookup_dcookie 212 18; fanotify_init 300 262; personality 135 92; uselib 134 -
migrate_pages 256 238; move_pages 279 239; process_madvise 440 440; process_mrelease 448 448; iopl 172 -
ioperm 173 -; vhangup 153 58; modify_ldt 154 -; ioctl 16 29; prlimit64 302 261; setpriority 141 140
sched_setaffinity 203 122; sched_setscheduler 144 119; sched_setparam 142 118; sched_setattr 314 274
ioprio_set 251 30; prctl 157 167
"""
for _entry in _TABLE.replace("\n", ";").split(";"):
    if _entry.strip():
        _name, _x86, _arm = _entry.split()
        for _arch, _number in (("x86_64", _x86), ("aarch64", _arm)):
            if _number != "-":
                _SYSCALLS[_arch][_name] = int(_number)

# Denied outright: nothing a numerical function needs, each a way out of the sandbox.
DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_open", "pidfd_getfd", "pidfd_send_signal",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
    "mount_setattr", "unshare", "setns", "fork", "vfork", "execve", "execveat", "socket", "bpf", "perf_event_open",
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
    "acct", "syslog", "quotactl", "quotactl_fd", "name_to_handle_at", "open_by_handle_at", "lookup_dcookie",
    "fanotify_init", "personality", "uselib", "migrate_pages", "move_pages", "process_madvise", "process_mrelease",
    "iopl", "ioperm", "vhangup", "modify_ldt", "setpriority", "ioprio_set",
)
# Allowed only when the first argument names this process (or 0: "myself" / "my group").
_SELF_OR_ZERO = ("kill", "prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr")
_SELF_ONLY = ("tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
# Allowed with conditions (see seccomp_program).
RESTRICTED = ("clone", "clone3", *_SELF_OR_ZERO, *_SELF_ONLY, "ioctl", "prctl")
_TIOCSTI, _TIOCLINUX = 0x5412, 0x541C  # ioctls that type into, or take over, a terminal

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_KILL_PROCESS, _RET_ALLOW = 0x80000000, 0x7FFF0000
_OFFSET_NR, _OFFSET_ARCH = 0, 4


def _errno(code: int) -> int:
    return 0x00050000 | code


def _argument(index: int) -> int:
    """Offset of the low 32 bits of a syscall argument in seccomp_data (little-endian)."""
    return 16 + 8 * index


_PID, _MINUS_PID = 0x7E5E1F01, 0x7E5E1F02  # placeholders, replaced by the child's own pid


def seccomp_program(architecture: str, pid: int = _PID, minus_pid: int = _MINUS_PID) -> list[tuple[int, int, int, int]]:
    """Return the filter as BPF instructions (code, jump-true, jump-false, k)."""
    numbers = _SYSCALLS[architecture]
    program: list[tuple[int, int, int, int]] = [
        (_LD_W_ABS, 0, 0, _OFFSET_ARCH),
        (_JEQ, 1, 0, _AUDIT_ARCH[architecture]),
        (_RET, 0, 0, _RET_KILL_PROCESS),  # another ABI (i386 int 0x80 on x86_64) would bypass the table
        (_LD_W_ABS, 0, 0, _OFFSET_NR),
    ]
    if architecture == "x86_64":
        program += [(_JGE, 0, 1, _X32_SYSCALL_BIT), (_RET, 0, 0, _errno(errno.ENOSYS))]

    def block(number: int, body: list[tuple[int, int, int, int]]) -> None:
        """Run `body` (which always returns) for this syscall number; skip it for others."""
        program.append((_JEQ, 0, len(body), number))
        program.extend(body)

    deny = (_RET, 0, 0, _errno(errno.EPERM))
    allow = (_RET, 0, 0, _RET_ALLOW)
    for name in DENIED:
        if name in numbers:
            block(numbers[name], [deny])
    # glibc falls back to clone() when clone3() is missing; clone() is checked below.
    block(numbers["clone3"], [(_RET, 0, 0, _errno(errno.ENOSYS))])
    # Threads only: no new process, no new namespace.
    block(numbers["clone"], [(_LD_W_ABS, 0, 0, _argument(0)), (_JSET, 2, 0, _NAMESPACE_FLAGS),
                             (_JSET, 0, 1, _CLONE_THREAD), allow, deny])
    for name in _SELF_OR_ZERO:
        block(numbers[name], [(_LD_W_ABS, 0, 0, _argument(0)), (_JEQ, 3, 0, 0), (_JEQ, 2, 0, pid),
                              (_JEQ, 1, 0, minus_pid), deny, allow])
    for name in _SELF_ONLY:
        block(numbers[name], [(_LD_W_ABS, 0, 0, _argument(0)), (_JEQ, 1, 0, pid), deny, allow])
    block(numbers["ioctl"], [(_LD_W_ABS, 0, 0, _argument(1)), (_JEQ, 2, 0, _TIOCSTI), (_JEQ, 1, 0, _TIOCLINUX),
                             allow, deny])
    # The child asks to die with the worker before this filter is installed; it must not take that back.
    block(numbers["prctl"], [(_LD_W_ABS, 0, 0, _argument(0)), (_JEQ, 0, 1, _PR_SET_PDEATHSIG), deny, allow])
    program.append(allow)
    return program


def _assemble(program: list[tuple[int, int, int, int]]) -> bytes:
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


def seccomp_template(architecture: str) -> bytes:
    """Return the assembled filter with pid placeholders, built once per worker (it takes ~0.2 ms)."""
    return _assemble(seccomp_program(architecture))


def _with_pid(template: bytes, pid: int) -> bytes:
    """Put the pid into the template's comparisons (each is a whole 8-byte JEQ instruction)."""
    code = template
    for placeholder, value in ((_PID, pid), (_MINUS_PID, -pid & 0xFFFFFFFF)):
        for jump_true in (1, 2):
            code = code.replace(struct.pack("=HBBI", _JEQ, jump_true, 0, placeholder),
                                struct.pack("=HBBI", _JEQ, jump_true, 0, value))
    return code


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(template: bytes, pid: int) -> None:
    """Install the filter on this thread (and the threads it starts); needs no_new_privs or root."""
    if not template:
        raise LayerError(SECCOMP, f"no system-call table for {platform.machine()}")
    code = _with_pid(template, pid)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _check(_libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), SECCOMP,
           "PR_SET_SECCOMP")


def make_grader_non_dumpable() -> str | None:
    """Make this process non-dumpable (no core dumps, no ptrace or /proc/PID/mem by its own user).

    Returns:
        None on success, else why it failed.
    """
    if _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == -1:
        return os.strerror(ctypes.get_errno())
    return None
