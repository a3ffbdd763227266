"""Which user a root grader's children switch to, from the sandbox user and the namespace's id maps."""
from __future__ import annotations

import pytest

from grader.sandbox.identity import (
    IdRange,
    SandboxUser,
    choose_switch,
    highest_other_id,
    is_mapped,
    parse_id_map,
    requested_user,
)

NOBODY = SandboxUser(65534, 65534, "nobody")
EVERYTHING = "         0          0 4294967295\n"  # the initial user namespace
ONLY_ROOT = "         0       1000          1\n"  # unshare -Ur, rootless containers without subordinate ids
ROOTLESS_PODMAN = "0 1000 1\n1 100000 65536\n"  # root and 65536 subordinate ids: nobody is among them
FEW_IDS = "0 1000 1\n1 100000 1000\n"  # subordinate ids, but too few for nobody


def test_a_map_is_parsed_line_by_line_and_garbage_is_refused():
    assert parse_id_map(ROOTLESS_PODMAN) == (IdRange(0, 1000, 1), IdRange(1, 100000, 65536))
    assert parse_id_map("") == ()
    with pytest.raises(ValueError):
        parse_id_map("0 0\n")


def test_an_id_is_mapped_only_inside_a_range_and_minus_one_never_is():
    ranges = parse_id_map(FEW_IDS)
    assert is_mapped(ranges, 0) and is_mapped(ranges, 1) and is_mapped(ranges, 1000)
    assert not is_mapped(ranges, 1001) and not is_mapped(ranges, 65534)
    assert not is_mapped(parse_id_map(EVERYTHING), 0xFFFFFFFF)
    assert highest_other_id(ranges) == 1000
    assert highest_other_id(parse_id_map(ONLY_ROOT)) is None
    assert highest_other_id(parse_id_map(EVERYTHING)) == 0xFFFFFFFE


@pytest.mark.parametrize("maps", [(EVERYTHING, EVERYTHING), (ROOTLESS_PODMAN, ROOTLESS_PODMAN), None, ("x", "y")])
def test_the_sandbox_user_is_taken_where_it_is_mapped_or_the_maps_cannot_tell(maps):
    switch = choose_switch(NOBODY, maps)
    assert (switch.uid, switch.gid) == (65534, 65534)
    assert switch.detail == "uid 65534, gid 65534 (nobody)"


def test_without_the_sandbox_user_the_highest_other_mapped_ids_are_taken():
    switch = choose_switch(NOBODY, (FEW_IDS, "0 1000 1\n1 200000 2000\n"))
    assert (switch.uid, switch.gid) == (1000, 2000)
    assert switch.detail == ("uid 1000, gid 2000: the highest this user namespace maps, since it does not map "
                             "uid 65534 and gid 65534 (nobody)")
    # A gid that is mapped is kept; only the missing uid is replaced.
    switch = choose_switch(SandboxUser(5000, 7, "grader-sandbox"), (FEW_IDS, EVERYTHING))
    assert (switch.uid, switch.gid) == (1000, 7)
    assert "does not map uid 5000 (grader-sandbox)" in switch.detail


def test_a_namespace_that_maps_only_root_keeps_children_root_and_says_why():
    switch = choose_switch(NOBODY, (ONLY_ROOT, ONLY_ROOT))
    assert (switch.uid, switch.gid) == (None, None)
    assert switch.detail == ("stays root of this user namespace (without capabilities): it maps no uid and gid but 0, "
                             "not uid 65534 and gid 65534 (nobody)")
    # Other uids but no other gid: still no switch (a uid alone would keep group root's files).
    switch = choose_switch(NOBODY, (FEW_IDS, ONLY_ROOT))
    assert switch.uid is None and "maps no gid but 0, not uid 65534 and gid 65534 (nobody)" in switch.detail


def test_a_sandbox_user_that_is_root_is_no_switch():
    switch = choose_switch(requested_user("0"), (EVERYTHING, EVERYTHING))
    assert switch.uid is None and "the sandbox user 0 is root" in switch.detail


def test_the_sandbox_user_is_the_argument_else_the_variable_else_nobody(monkeypatch):
    monkeypatch.delenv("GRADER_SANDBOX_USER", raising=False)
    assert (requested_user().uid, requested_user().gid) == (65534, 65534)
    assert requested_user("1234:99") == SandboxUser(1234, 99, "1234:99")
    assert requested_user("4321") == SandboxUser(4321, 4321, "4321")
    monkeypatch.setenv("GRADER_SANDBOX_USER", "2000:3000")
    assert requested_user() == SandboxUser(2000, 3000, "2000:3000")
    assert requested_user("no-such-account-here").uid == 65534
