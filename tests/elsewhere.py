"""Run a command where the grader meets other identities: user namespaces, other id maps, an ordinary user.

Each `Place` turns a command into the same command run there:
- `as started`: unchanged (root in CI);
- `user namespace`: `unshare -Ur`, a user namespace that maps only root, as rootless Podman
  or Docker, many CI sandboxes and `unshare -Ur` give;
- `user and pid namespaces`: `unshare -Urpf --mount-proc`, the same with the grader as PID 1;
- `ordinary user`: a throw-away uid (`setpriv`, from root), in a private mount namespace where
  that user can reach this Python (see `python_readable_by_others`).

Run as a script, it is the launcher of `with_id_maps`: a user namespace with the maps given.
"""
from __future__ import annotations

import ctypes
import functools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_CLONE_NEWUSER = 0x10000000


@functools.cache
def user_namespace_problem() -> str | None:
    """Why `unshare -Ur` cannot run here (no util-linux, unprivileged user namespaces disabled), or None."""
    if shutil.which("unshare") is None:
        return "needs util-linux's unshare"
    done = subprocess.run(["unshare", "-Ur", "true"], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        return f"user namespaces are not available here: {done.stderr.strip()[-300:]}"
    return None


def root_problem() -> str | None:
    """Why this process cannot switch to another user or write arbitrary id maps, or None."""
    if os.geteuid() != 0:
        return "needs root"
    try:
        with open("/proc/self/uid_map") as uid_map:
            if uid_map.read().split() != ["0", "0", "4294967295"]:
                return "needs root of the initial user namespace (this is a user namespace's root)"
    except OSError:
        pass
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return f"needs util-linux's {tool}"
    return None


@functools.cache
def throwaway_uid() -> int:
    """A uid no account has, different for each test process (its processes are counted apart)."""
    uid = 40000 + os.getpid() % 20000
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


def folder_for(place: Place, prefix: str) -> Path:
    """A fresh folder that the grader's user in `place` owns, where every user can reach it.

    Not always under /tmp: on some machines (this project's) /tmp itself is mode 0700.
    """
    parent = next(folder for folder in (tempfile.gettempdir(), "/var/tmp", "/dev/shm")
                  if os.path.isdir(folder) and os.stat(folder).st_mode & 0o001)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    if place.throwaway_user:
        os.chown(folder, throwaway_uid(), throwaway_uid())
    folder.chmod(0o755)
    return folder


def _unreadable_ancestor(path: str) -> str | None:
    """The highest folder above `path` that other users cannot enter (like /root), if any."""
    current = os.path.dirname(os.path.realpath(path))
    found = None
    while current != "/":
        if not os.stat(current).st_mode & 0o001:
            found = current
        current = os.path.dirname(current)
    return found


def python_readable_by_others(command: Sequence[str]) -> list[str]:
    """The command, run by root in a private mount namespace where other users can reach this Python.

    Where the interpreter sits under a folder like /root (mode 0700), that folder is covered,
    in the namespace only, by a tmpfs that lets others through, with the interpreter's own
    tree and this project bound back in place.
    """
    needed = {os.path.realpath(path) for path in (sys.base_prefix, sys.prefix, str(ROOT))}
    hidden = {folder for folder in (_unreadable_ancestor(path + "/x") for path in needed) if folder is not None}
    # Bind mounts wait in a folder outside every covered one (here /tmp itself may be mode 0700).
    parking = next(place for place in ("/run", "/dev/shm", "/dev") if os.path.isdir(place)
                   and not any(place == folder or place.startswith(folder + os.sep) for folder in hidden))
    steps = ["set -e"]
    for number, folder in enumerate(sorted(hidden)):
        keeps = sorted({os.path.join(folder, os.path.relpath(path, folder).split(os.sep)[0])
                        for path in needed if path.startswith(folder + os.sep)})
        for index, keep in enumerate(keeps):
            steps += [f'spare{number}_{index}=$(mktemp -d -p {parking})', f'mount --bind "{keep}" "$spare{number}_{index}"']
        steps.append(f'mount -t tmpfs -o mode=0755 grader-test "{folder}"')
        for index, keep in enumerate(keeps):
            steps += [f'mkdir -p "{keep}"', f'mount --move "$spare{number}_{index}" "{keep}"',
                      f'rmdir "$spare{number}_{index}"']
    steps.append('exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(steps), "sh", *command]


def as_user(uid: int, command: Sequence[str]) -> list[str]:
    """The command, run as uid:uid with no groups, where that user can reach this Python (root only)."""
    return python_readable_by_others(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *command])


def with_id_maps(uid_map: str, gid_map: str, command: Sequence[str]) -> list[str]:
    """The command, run as root of a new user namespace with these maps ("inside outside count" lines; root only)."""
    return [sys.executable, __file__, uid_map, gid_map, *command]


@dataclass(frozen=True)
class Place:
    """Somewhere the whole `grade` command runs."""

    name: str
    wrap: Callable[[Sequence[str]], list[str]]  # a command → the same command, run there
    problem: Callable[[], str | None]  # why this system cannot offer the place, or None
    throwaway_user: bool = False  # the grader runs as throwaway_uid(): it needs folders it owns
    rootless: bool = False  # in a user namespace that maps only root: children cannot switch users


def _unchanged(command: Sequence[str]) -> list[str]:
    return list(command)


def _user_namespace(command: Sequence[str]) -> list[str]:
    return ["unshare", "-Ur", *command]


def _user_and_pid_namespaces(command: Sequence[str]) -> list[str]:
    # --kill-child: a test that times out kills unshare, and the grader (PID 1 there) with it.
    return ["unshare", "-Urpf", "--mount-proc", "--kill-child", *command]


def _ordinary_user(command: Sequence[str]) -> list[str]:
    return as_user(throwaway_uid(), command)


PLACES = (
    Place("as started", _unchanged, lambda: None),
    Place("user namespace", _user_namespace, user_namespace_problem, rootless=True),
    Place("user and pid namespaces", _user_and_pid_namespaces, user_namespace_problem, rootless=True),
    Place("ordinary user", _ordinary_user, root_problem, throwaway_user=True),
)


def _launch(uid_map: str, gid_map: str, command: list[str]) -> int:
    """Fork a child into a new user namespace, write its maps from here (root may map any ids), exec the command."""
    libc = ctypes.CDLL(None, use_errno=True)
    unshared_read, unshared_write = os.pipe()
    mapped_read, mapped_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        if libc.unshare(_CLONE_NEWUSER) != 0:
            os._exit(125)
        os.write(unshared_write, b"u")
        os.read(mapped_read, 1)  # wait for the maps
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(126)
    if os.read(unshared_read, 1) != b"u":
        os.waitpid(pid, 0)
        print("with_id_maps: unshare(CLONE_NEWUSER) failed", file=sys.stderr)
        return 125
    for name, text in (("uid_map", uid_map), ("gid_map", gid_map)):
        with open(f"/proc/{pid}/{name}", "w") as map_file:
            map_file.write(text.replace(";", "\n") + "\n")
    os.write(mapped_write, b"m")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(_launch(sys.argv[1], sys.argv[2], sys.argv[3:]))
