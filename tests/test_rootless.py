"""The whole `grade` command wherever it runs: as started, in user namespaces (rootless containers), as an ordinary user.

In a user namespace that maps only root (`unshare -Ur`, rootless Podman or Docker), the
sandbox user does not exist: children stay that namespace's root without any capability,
and the command says so. A worker that cannot start says which step failed and why.
(The hostile notebooks run in the same places: tests/test_attacks.py.)
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from grader.sandbox import LAYERS

import elsewhere
from conftest import EXAMPLES, ROOT


@pytest.fixture(params=elsewhere.PLACES, ids=lambda place: place.name.replace(" ", "-"))
def place(request) -> elsewhere.Place:
    problem = request.param.problem()
    if problem is not None:
        pytest.skip(f"{request.param.name}: {problem}")
    return request.param


def grade(place: elsewhere.Place, *arguments: str, wrap=None) -> subprocess.CompletedProcess:
    """Run `python -m grader ARGUMENTS` from this checkout in `place` (and through `wrap`, if given)."""
    command = [sys.executable, "-m", "grader", *arguments]
    return subprocess.run(place.wrap(wrap(command) if wrap else command), capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def table(stdout: str) -> dict[str, tuple[bool, str]]:
    """`grade --version --verbose`'s rows: layer → (in force, what it does or why not)."""
    rows = {}
    for line in stdout.splitlines()[1:]:
        sign, name, detail = line.split(None, 2)
        rows[name] = (sign == "+", detail)
    return rows


def test_a_correct_notebook_gets_full_marks(place):
    done = grade(place, str(EXAMPLES / "correct.ipynb"), "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "passed" and result["score"] == result["max_score"] == 16.0
    if place.rootless:
        assert result["sandbox_user"].startswith("stays root of this user namespace (without capabilities)")


def test_the_np_sum_notebook_gets_its_finding(place):
    done = grade(place, str(EXAMPLES / "np_sum_mistake.ipynb"), "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    backward = next(item for item in result["exercises"] if item["function"] == "backward_propagation_with_regularization")
    assert [finding["id"] for finding in backward["findings"]] == ["grad.l2-sum-of-weights"]
    assert result["score"] == 15.42


def test_version_verbose_prints_every_layer_and_which_user_children_run_as(place):
    done = grade(place, "--version", "--verbose")
    assert done.returncode == 0, done.stderr
    rows = table(done.stdout)
    assert list(rows) == list(LAYERS)
    (switched, user), (no_capabilities, _) = rows["unprivileged-user"], rows["no-capabilities"]
    if place.rootless:
        assert not switched and no_capabilities
        assert user == ("stays root of this user namespace (without capabilities): it maps no uid and gid but 0, "
                        "not uid 65534 and gid 65534 (nobody)")
    elif place.throwaway_user:
        uid = elsewhere.throwaway_uid()
        assert switched and user == f"the grader's own user (uid {uid}, gid {uid}), not root"
    elif os.geteuid() == 0:
        assert switched or no_capabilities, user


@pytest.mark.skipif(elsewhere.root_problem() is not None or shutil.which("prlimit") is None,
                    reason="needs root (to become a throw-away user) and util-linux's prlimit")
def test_a_worker_that_cannot_start_says_which_step_failed_and_the_table_says_it_too():
    # A throw-away user allowed two processes: the grader and its worker, but not the worker's probe.
    ordinary = next(place for place in elsewhere.PLACES if place.throwaway_user)
    limited = lambda command: ["prlimit", "--nproc=2", *command]  # noqa: E731
    reason = "the sandbox worker could not start: fork the probe child: Resource temporarily unavailable"
    graded = grade(ordinary, str(EXAMPLES / "correct.ipynb"), wrap=limited)
    assert graded.returncode == 3
    assert graded.stderr == f"grade: {reason}\n" and graded.stdout == ""
    described = grade(ordinary, "--version", "--verbose", wrap=limited)
    assert described.returncode == 3 and described.stderr == f"grade: {reason}\n"
    rows = table(described.stdout)
    assert list(rows) == list(LAYERS)
    assert rows["clean-worker"] == (False, reason)
    assert rows["seccomp"] == (False, "not probed: the sandbox worker could not start")
    assert rows["strict-decoder"][0] and rows["non-dumpable-grader"][0]
