"""seccomp: a filter denying the system calls student code never needs and that could reach outside.

Denied: ptrace, process_vm_*, mount, new sockets, new processes, exec, ... (DENIED).
Restricted (RESTRICTED): clone only for threads, signals and scheduling only to the child
itself, no ioctl that types into a terminal, no taking back the request to die with the
worker. The filter is assembled once per worker with placeholders for the child's pid
(`seccomp_template`); each child puts its pid in and installs it (`install_seccomp`).
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

from grader.errors import LayerError
from grader.sandbox.kernel.calls import PR_SET_PDEATHSIG, check, libc
from grader.sandbox.kernel.namespaces import CLONE_THREAD, NAMESPACE_FLAGS
from grader.sandbox.kernel.plan import SECCOMP

_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

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


def seccomp_architecture() -> str | None:
    """Return the architecture the seccomp filter is written for, or None if unsupported."""
    machine = platform.machine()
    return machine if machine in _SYSCALLS else None


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
    block(numbers["clone"], [(_LD_W_ABS, 0, 0, _argument(0)), (_JSET, 2, 0, NAMESPACE_FLAGS),
                             (_JSET, 0, 1, CLONE_THREAD), allow, deny])
    for name in _SELF_OR_ZERO:
        block(numbers[name], [(_LD_W_ABS, 0, 0, _argument(0)), (_JEQ, 3, 0, 0), (_JEQ, 2, 0, pid),
                              (_JEQ, 1, 0, minus_pid), deny, allow])
    for name in _SELF_ONLY:
        block(numbers[name], [(_LD_W_ABS, 0, 0, _argument(0)), (_JEQ, 1, 0, pid), deny, allow])
    block(numbers["ioctl"], [(_LD_W_ABS, 0, 0, _argument(1)), (_JEQ, 2, 0, _TIOCSTI), (_JEQ, 1, 0, _TIOCLINUX),
                             allow, deny])
    # The child asks to die with the worker before this filter is installed; it must not take that back.
    block(numbers["prctl"], [(_LD_W_ABS, 0, 0, _argument(0)), (_JEQ, 0, 1, PR_SET_PDEATHSIG), deny, allow])
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
    check(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), SECCOMP,
          "PR_SET_SECCOMP")
