"""Stopping the grader stops the student's code: signals, exit statuses, closed pipes, fair batches.

Each scenario runs in a small supervisor process that is a *child subreaper*: whatever the
grader leaves behind is re-parented to it instead of to init, so it can list exactly what is
still running after `grade` has exited, and clean it up.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

SUPERVISOR = r'''
import ctypes, json, os, signal, subprocess, sys, time

ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
command, signum, wanted = json.loads(sys.argv[1])

def descendants():
    """Every live process under this one (zombies re-parented here are reaped, not counted)."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    state, parent = stat.read().rsplit(")", 1)[1].split()[:2]
            except OSError:
                continue
            if state != "Z":
                parents[int(name)] = int(parent)
            elif int(parent) == os.getpid() and int(name) != grade.pid:
                os.waitpid(int(name), os.WNOHANG)  # an orphan that died: reap it (grade is Popen's to reap)
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found

grade = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
deadline = time.monotonic() + 20
steady = 0  # the worker's probe of the layers starts a child too, for milliseconds: wait for the students' code
while steady < 15 and time.monotonic() < deadline:
    steady = steady + 1 if len(descendants()) >= wanted else 0
    time.sleep(0.02)
running = len(descendants())
sent = time.monotonic()
os.kill(grade.pid, signum)
_, stderr = grade.communicate(timeout=30)
exited = time.monotonic() - sent
left = descendants()
settle = time.monotonic() + 1.0
while left and time.monotonic() < settle:
    time.sleep(0.02)
    left = descendants()
for pid in left:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
print(json.dumps({"running": running, "returncode": grade.returncode, "exited_after": exited,
                  "left": sorted(left), "stderr": stderr.decode()}))
'''


def supervise(command: list[str], signum: int, wanted: int) -> dict:
    """Run `command`, send it `signum` once `wanted` processes run under it, and report what was left."""
    done = subprocess.run([sys.executable, "-c", SUPERVISOR, json.dumps([command, signum, wanted])],
                          capture_output=True, text=True, timeout=90, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def grade_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "grader", *arguments]


@pytest.fixture(scope="module")
def loops(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("loops")
    for name in ("first", "second", "third"):
        shutil.copy(EXAMPLES / "infinite_loop.ipynb", folder / f"{name}.ipynb")
    return folder


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_a_stopped_batch_leaves_no_process_running(loops, tmp_path, signum):
    # Two grading processes, each with a sandbox worker running a student's endless loop.
    report = supervise(grade_command(str(loops), "--out", str(tmp_path / "out"), "--jobs", "2", "--timeout", "600",
                                     "--quiet"), signum, wanted=6)
    assert report["running"] >= 6
    assert report["left"] == [], report
    if signum != signal.SIGKILL:
        assert report["returncode"] == 128 + signum
        assert report["exited_after"] < 2.0
        assert "add --resume to go on" in report["stderr"]
        assert signal.Signals(signum).name in report["stderr"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_single_grade_leaves_no_process_running(signum):
    report = supervise(grade_command(str(EXAMPLES / "infinite_loop.ipynb"), "--timeout", "600"), signum, wanted=3)
    assert report["left"] == [], report
    if signum != signal.SIGKILL:
        assert report["returncode"] == 128 + signum and report["exited_after"] < 2.0


def test_two_slow_submissions_on_two_jobs_take_one_timeout_not_two(loops, tmp_path):
    two = tmp_path / "two"
    two.mkdir()
    for name in ("first", "second"):
        shutil.copy(loops / f"{name}.ipynb", two / f"{name}.ipynb")
    started = time.monotonic()
    done = subprocess.run(grade_command(str(two), "--jobs", "2", "--timeout", "3", "--format", "json", "--quiet"),
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["exercises"][1]["findings"][0]["id"] for line in done.stdout.splitlines()] == \
        ["timeout", "timeout"]
    assert elapsed < 5.5, f"{elapsed:.1f} s: the second notebook waited for the first instead of running beside it"


def test_a_reader_closing_the_pipe_stops_the_grader_quietly():
    # Results come one by one (an endless loop among them takes 2 s): the reader is gone long before the last.
    status = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable} -m grader {EXAMPLES} --format json "
                             "--assignment regularization --timeout 2 | head -c 1 >/dev/null; echo ${PIPESTATUS[0]}"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert status.stdout.strip() == str(128 + signal.SIGPIPE)
    assert status.stderr == ""


def test_an_unwritable_github_summary_is_a_warning_not_a_failure(tmp_path):
    done = subprocess.run(grade_command(str(EXAMPLES / "correct.ipynb"), "--timeout", "5"), capture_output=True,
                          text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "GITHUB_STEP_SUMMARY": str(tmp_path / "missing" / "summary.md")})
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("warning: cannot write the GitHub job summary") == 1
    assert "16/16" in done.stdout
