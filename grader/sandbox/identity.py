"""Which user a root grader's children switch to, in whatever user namespace the grader runs.

As root, children switch to the sandbox user: `$GRADER_SANDBOX_USER` (a name or "uid[:gid]")
or `nobody`. In a user namespace only the uids and gids its maps list exist: rootless
containers, CI sandboxes and `unshare -Ur` often map root alone, and a switch to an unmapped
uid fails with EINVAL. So the switch is chosen from the maps (/proc/self/uid_map, gid_map):
the sandbox user where it is mapped, else the highest other uid and gid mapped here (low ids
are the system accounts that own files), else none: the children stay this namespace's root,
without any capability. The worker's probe then checks that the chosen switch works.
"""
from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

DEFAULT_USER = "nobody"
USER_VARIABLE = "GRADER_SANDBOX_USER"
_NOBODY_ID = 65534  # the conventional "nobody", where the account is missing
_INVALID_ID = 0xFFFFFFFF  # (uid_t) -1: never an id a process can take


@dataclass(frozen=True, slots=True)
class SandboxUser:
    """The user the configuration asks children to run as (see `requested_user`)."""

    uid: int
    gid: int
    name: str  # as configured: "nobody", "grader-sandbox", "1234:1234"


@dataclass(frozen=True, slots=True)
class IdRange:
    """One line of a uid_map or gid_map: ids first .. first+count-1 of the namespace."""

    first: int  # the first id inside the namespace
    outside: int  # the id it stands for in the parent namespace
    count: int


@dataclass(frozen=True, slots=True)
class Switch:
    """The uid and gid children switch to, or None for both: they stay root, without capabilities."""

    uid: int | None
    gid: int | None
    detail: str  # for humans: which user, and why that one (or why none)


def requested_user(user: str | None = None) -> SandboxUser:
    """Resolve the sandbox user: `user`, else $GRADER_SANDBOX_USER, else nobody."""
    text = user if user is not None else os.environ.get(USER_VARIABLE) or DEFAULT_USER
    uid_text, _, gid_text = text.partition(":")
    try:
        if uid_text.isdigit():
            uid = int(uid_text)
            gid = int(gid_text) if gid_text.isdigit() else uid
        else:
            entry = pwd.getpwnam(uid_text)
            uid, gid = entry.pw_uid, int(gid_text) if gid_text.isdigit() else entry.pw_gid
    except KeyError:
        uid, gid = _NOBODY_ID, _NOBODY_ID
    return SandboxUser(uid, gid, text)


def parse_id_map(text: str) -> tuple[IdRange, ...]:
    """Parse the text of /proc/PID/uid_map or gid_map ("inside outside count" per line).

    Raises:
        ValueError: A line is not three numbers.
    """
    ranges = []
    for line in text.splitlines():
        if line.strip():
            first, outside, count = (int(field) for field in line.split())
            ranges.append(IdRange(first, outside, count))
    return tuple(ranges)


def is_mapped(ranges: tuple[IdRange, ...], value: int) -> bool:
    """Whether `value` is an id of the namespace these ranges map."""
    return value != _INVALID_ID and any(item.first <= value < item.first + item.count for item in ranges)


def highest_other_id(ranges: tuple[IdRange, ...]) -> int | None:
    """The highest mapped id but 0, or None when 0 is all there is."""
    highest = [min(item.first + item.count - 1, _INVALID_ID - 1) for item in ranges if item.count > 0]
    candidates = [value for value in highest if value > 0]
    return max(candidates) if candidates else None


def read_id_maps() -> tuple[str, str] | None:
    """This process's uid_map and gid_map texts, or None where /proc cannot tell."""
    try:
        with open("/proc/self/uid_map") as uids, open("/proc/self/gid_map") as gids:
            return uids.read(), gids.read()
    except OSError:
        return None


def choose_switch(user: SandboxUser, maps: tuple[str, str] | None) -> Switch:
    """Choose the switch a root grader's children make, from the sandbox user and the id maps.

    Args:
        user: The configured sandbox user.
        maps: The uid_map and gid_map texts (see `read_id_maps`); None: unknown, the
            configured user is tried as it is.
    """
    label = f" ({user.name})" if not user.name[:1].isdigit() else ""
    if user.uid == 0:
        return Switch(None, None, f"stays root (without capabilities): the sandbox user {user.name} is root; "
                                  f"set ${USER_VARIABLE} to an unprivileged user")
    uids: tuple[IdRange, ...] = ()
    gids: tuple[IdRange, ...] = ()
    if maps is not None:
        try:
            uids, gids = parse_id_map(maps[0]), parse_id_map(maps[1])
        except ValueError:
            maps = None  # unreadable: let the probe find out
    if maps is None or (is_mapped(uids, user.uid) and is_mapped(gids, user.gid)):
        return Switch(user.uid, user.gid, f"uid {user.uid}, gid {user.gid}{label}")
    uid = user.uid if is_mapped(uids, user.uid) else highest_other_id(uids)
    gid = user.gid if is_mapped(gids, user.gid) else highest_other_id(gids)
    wanted = (("uid", user.uid, uids), ("gid", user.gid, gids))
    missing = " and ".join(f"{kind} {value}" for kind, value, ranges in wanted if not is_mapped(ranges, value)) + label
    if uid is None or gid is None:
        kinds = " and ".join(kind for kind, value in (("uid", uid), ("gid", gid)) if value is None)
        return Switch(None, None, f"stays root of this user namespace (without capabilities): it maps no {kinds} "
                                  f"but 0, not {missing}")
    return Switch(uid, gid,
                  f"uid {uid}, gid {gid}: the highest this user namespace maps, since it does not map {missing}")
