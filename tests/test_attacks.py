"""Hostile submissions (tests/attacks/*.ipynb), graded in one batch by the real `grade` command.

Each attack must be a failed exercise with a message that says what happened, the grader
must finish the batch with every result, nothing may be written outside the scratch
directory, no connection may reach the port the test listens on, and the honest
submissions graded before and after the attacks must get the same result. All of it
wherever the grader runs (tests/elsewhere.py): as started (root in CI), in a user namespace
that maps only root (`unshare -Ur`, as rootless containers give), the same with its own
pids (`unshare -Urpf --mount-proc`), and as an ordinary user.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox import Limits, Worker

import elsewhere
from conftest import COST, EXAMPLES, ROOT

ATTACKS = ROOT / "tests" / "attacks"
CANARY = "ATTACK_WROTE_HERE"
TIMEOUT = 1.0

# What the student reads for each attack: one of these fragments, in a check message or a finding.
PERMISSION = ("PermissionError",)
EXPECTED: dict[str, tuple[str, ...]] = {
    "read_reference_by_path": PERMISSION,
    "read_reference_by_import": ("ModuleNotFoundError", "PermissionError"),
    "read_reference_from_memory": ("LookupError: no reference code in this process",),
    "read_reference_through_proc": PERMISSION,
    "read_grader_memory": PERMISSION,
    "read_other_submissions": PERMISSION,
    "write_outside_scratch": PERMISSION,
    "connect_to_localhost": PERMISSION,
    "kill_the_grader": PERMISSION,
    "fork_bomb": ("PermissionError", "BlockingIOError"),
    "thread_bomb": ("can't start new thread", "memory"),
    "allocate_far_too_much": ("used more than 1024 MB of memory",),
    "infinite_loop": ("took longer than 1 s",),
    "sleep_forever": ("took longer than 1 s",),
    "print_hundreds_of_megabytes": ("printed more than 1048576 bytes",),
    "fill_the_disk": ("No space left on device", "took longer than 1 s"),
    "recursion_bomb": ("took longer than 1 s", "memory", "RecursionError", "killed by signal"),
    "close_the_result_channel": ("could not report its results",),
    "forge_a_result": ("the results could not be read",),
    "equal_to_everything": ("returned Liar, not a number",),
    "array_protocol_liar": ("returned Liar, not a number",),
    "ndarray_subclass": ("differs on 10 of 10 probes",),
    "huge_array": ("the results are larger than",),
    "monkeypatch_numpy_and_builtins": ("could not report its results",),
    "os_exit": ("exited with status 0 before returning",),
    "sys_exit": ("SystemExit",),
    "raise_keyboard_interrupt": ("KeyboardInterrupt",),
    "raise_system_exit": ("SystemExit: graded",),
    "generator_function": ("returned generator, not a number",),
    "coroutine_function": ("returned coroutine, not a number",),
}


def test_every_attack_notebook_has_an_expectation_and_the_notebooks_are_built():
    assert {path.stem for path in ATTACKS.glob("*.ipynb")} == set(EXPECTED)


def canaries(batch_folder: Path, out: Path) -> list[Path]:
    return [out / CANARY, batch_folder / CANARY, ROOT / CANARY, Path("/tmp") / CANARY]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_batch(folder: Path, place: elsewhere.Place = elsewhere.PLACES[0], extra: tuple[Path, ...] = ()) -> dict:
    """Grade honest notebooks, every attack, then the honest ones again (and `extra`), in one `grade` run in `place`.

    `folder` holds the copies and the output; the grader runs from the source in this checkout.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    out = folder / f"out-tcp-{listener.getsockname()[1]}"  # the attacks find the port here, in sys.argv
    for canary in canaries(folder, out):
        canary.unlink(missing_ok=True)
    honest = [EXAMPLES / "correct.ipynb", EXAMPLES / "np_sum_mistake.ipynb"]
    again = []
    for path in honest:
        copy = folder / f"again_{path.name}"
        shutil.copy(path, copy)
        again.append(copy)
    protected = [ROOT / "reference" / "regularization" / "solution.py", *honest]
    before = {path: digest(path) for path in protected}
    started = time.monotonic()
    command = [sys.executable, "-m", "grader", "--assignment", "regularization", "--timeout", str(TIMEOUT),
               "--format", "json", "--out", str(out), *map(str, honest), *map(str, sorted(ATTACKS.glob("*.ipynb"))),
               *map(str, again), *map(str, extra)]
    completed = subprocess.run(place.wrap(command), cwd=folder, capture_output=True, text=True, timeout=300,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.monotonic() - started
    try:
        connection, _ = listener.accept()
        connection.close()
        connected = True
    except BlockingIOError:
        connected = False
    listener.close()
    # One <stem>.json per submission, wherever under --out the batch layout puts it.
    results = {}
    for path in out.rglob("*.json"):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and "exercises" in data and "submission" in data:
            results[path.stem] = data
    batch = {"completed": completed, "results": results, "seconds": seconds, "connected": connected,
             "written": [path for path in canaries(folder, out) if path.exists()],
             "changed": [path for path in protected if digest(path) != before[path]]}
    for canary in canaries(folder, out):
        canary.unlink(missing_ok=True)
    return batch


@pytest.fixture(scope="module", params=elsewhere.PLACES, ids=lambda place: place.name.replace(" ", "-"))
def place(request) -> elsewhere.Place:
    problem = request.param.problem()
    if problem is not None:
        pytest.skip(f"{request.param.name}: {problem}")
    return request.param


@pytest.fixture(scope="module")
def batch(place):
    """One batch of every attack, in each place the grader may run."""
    folder = elsewhere.folder_for(place, "grader-attacks-")
    try:
        yield {**run_batch(folder, place), "place": place}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def feedback(result: dict) -> str:
    """Everything the student reads about the cost exercise."""
    exercise = next(item for item in result["exercises"] if item["function"] == COST)
    parts = [check["message"] for check in exercise["checks"]]
    parts += [f"{finding['title']} {finding['evidence']}" for finding in exercise["findings"]]
    return "\n".join(parts)


def test_the_grader_finishes_the_batch_with_a_result_for_every_submission(batch):
    completed = batch["completed"]
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert set(EXPECTED) | {"correct", "np_sum_mistake", "again_correct", "again_np_sum_mistake"} <= set(batch["results"])
    # Generous: three time-outs of 1 s, plus start-up, on a busy 2-core machine.
    assert batch["seconds"] < 90


@pytest.mark.parametrize("attack", sorted(EXPECTED))
def test_each_attack_is_a_failed_exercise_with_a_clear_message(batch, attack):
    result = batch["results"][attack]
    exercise = next(item for item in result["exercises"] if item["function"] == COST)
    assert exercise["status"] in ("failed", "error")
    assert exercise["score"] < exercise["max_score"]
    text = feedback(result)
    assert any(fragment in text for fragment in EXPECTED[attack]), text


def test_nothing_is_written_outside_the_scratch_directory(batch):
    assert batch["written"] == []
    assert batch["changed"] == []


def test_no_connection_reaches_a_port_open_on_localhost(batch):
    assert not batch["connected"]


def test_honest_submissions_before_and_after_the_attacks_get_the_same_result(batch):
    results = batch["results"]
    for name in ("correct", "np_sum_mistake"):
        first, second = dict(results[name]), dict(results[f"again_{name}"])
        for result in (first, second):
            result.pop("submission")
            result.pop("sandbox", None)
        assert first == second
    assert results["correct"]["score"] == results["correct"]["max_score"]
    findings = [finding["id"] for exercise in results["np_sum_mistake"]["exercises"] for finding in exercise["findings"]]
    assert findings == ["grad.l2-sum-of-weights"]


def test_the_results_say_which_user_the_student_code_ran_as(batch):
    place, result = batch["place"], batch["results"]["correct"]
    layers, user = set(result["sandbox"]), result["sandbox_user"]
    if place.rootless:
        # Nobody is not mapped there: the children keep that namespace's root, without any capability.
        assert "unprivileged-user" not in layers and "no-capabilities" in layers, user
        assert user.startswith("stays root of this user namespace (without capabilities): it maps no uid and gid")
    elif place.throwaway_user:
        uid = elsewhere.throwaway_uid()
        assert "unprivileged-user" in layers and user == f"the grader's own user (uid {uid}, gid {uid}), not root"
    elif os.geteuid() == 0:
        assert "unprivileged-user" in layers or "no-capabilities" in layers, user


def test_the_worker_of_a_grader_never_holds_reference_code():
    # A worker started after an assignment was loaded (here: by earlier tests in this process)
    # drops the instructor modules and says so.
    with Worker.start(Limits(wall_seconds=1)) as worker:
        clean = next(layer for layer in worker.layers if layer.name == "clean-worker")
    loaded = any(name.startswith("_grader_assignment_") for name in sys.modules)
    assert clean.in_force is not loaded
    if loaded:
        assert "modules dropped" in clean.detail


@pytest.mark.skipif(os.geteuid() != 0, reason="the unprivileged-user layer switches users only when the grader is root")
def test_as_root_student_code_never_runs_as_root():
    with Worker.start(Limits(wall_seconds=1)) as worker:
        assert "unprivileged-user" in worker.layers_in_force or "no-capabilities" in worker.layers_in_force
