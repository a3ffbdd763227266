"""Landlock: the child reads only the Python installation and system libraries, writes only its scratch.

The ruleset also refuses TCP bind and connect (ABI 4) and scopes signals and abstract UNIX
sockets to the sandbox (ABI 6). The worker builds it once (`build_ruleset`), with the
grader's own folders left out; every child restricts itself with it (`restrict_self`).
"""

from __future__ import annotations

import ctypes
import os
import site
import struct
import sys
import sysconfig
from collections.abc import Iterable

from grader.sandbox.kernel.calls import check, syscall
from grader.sandbox.kernel.plan import LANDLOCK_FILES, LANDLOCK_NETWORK, LANDLOCK_SCOPE

# linux/landlock.h: the same syscall numbers on every architecture.
_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_MAKE_CHAR, _FS_MAKE_BLOCK = 1 << 6, 1 << 11
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2


def landlock_abi() -> int:
    """Return the kernel's Landlock ABI version, 0 when Landlock is missing or disabled."""
    version = syscall(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                      ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    return max(version, 0)


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
    ruleset = check(syscall(_LANDLOCK_CREATE_RULESET, buffer, ctypes.c_size_t(len(attributes)), ctypes.c_uint32(0)),
                    LANDLOCK_FILES, "landlock_create_ruleset")
    read_file = _FS_READ_FILE
    read_tree = _FS_READ_FILE | _FS_READ_DIR
    device = (_FS_READ_FILE | _FS_WRITE_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV) & handled_fs
    scratch_rights = handled_fs & ~(_FS_EXECUTE | _FS_MAKE_CHAR | _FS_MAKE_BLOCK | _FS_IOCTL_DEV)
    rules = [(path, read_tree if os.path.isdir(path) else read_file)
             for path in allowed_paths(readable_roots(), hidden)]
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
                check(syscall(_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, rule, ctypes.c_uint32(0)),
                      LANDLOCK_FILES, f"landlock_add_rule {path}")
            finally:
                os.close(fd)
    except BaseException:
        os.close(ruleset)
        raise
    # Above 0-2 and close-on-exec, like the worker's pipes.
    return ruleset


def restrict_self(ruleset_fd: int) -> None:
    """Enforce the ruleset on this process (and everything it starts), then close it."""
    check(syscall(_LANDLOCK_RESTRICT_SELF, ruleset_fd, ctypes.c_uint32(0)), LANDLOCK_FILES, "landlock_restrict_self")
    os.close(ruleset_fd)
