"""The sandbox, exercised with real processes: results, errors, limits, and a worker that survives."""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import os
import signal
import tempfile
import textwrap
import time

import numpy as np
import pytest

from grader import sandbox
from grader.sandbox import (
    LAYERS,
    Job,
    Limits,
    SandboxError,
    Worker,
    WorkerStartError,
    describe_sandbox,
    format_layers,
    kernel,
)
from grader.sandbox import probe as layer_probe
from grader.sandbox.codec import Unsupported
from grader.sandbox.kernel import landlock
from grader.sandbox.kernel.landlock import allowed_paths
from grader.sandbox.scratch import remove_tree

import elsewhere
from conftest import ROOT

FILENAME = "<submission>"
LIMITS = Limits(wall_seconds=1.0)

SOURCE = textwrap.dedent(
    """\
    import os
    import sys
    import time

    import numpy as np


    def add(a, b):
        return a + b


    def divide(a, b):
        return a / b  # divides


    def count_up(n):
        if n == 2:
            while True: pass  # spins
        return n


    def nap(seconds):
        time.sleep(seconds)  # sleeps


    def hoard(n):
        return np.ones(10 * 2**30 // 8)  # allocates


    def shout(n):
        print("x" * (100 << 20))  # prints


    def vanish(code):
        os._exit(code)


    def leave(code):
        sys.exit(code)


    def interrupt():
        raise KeyboardInterrupt


    def scale_in_place(W, factor):
        W *= factor
        return None


    def stubborn():
        while True:
            try:
                time.sleep(10)
            except BaseException:
                pass


    def spawn():
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        return pid


    def numbers():
        return 1.5, np.float64(1.5), np.array(1.5), np.array([[1.5]]), (i for i in range(2))


    def shout_quietly(n):
        try:
            print("x" * (2 << 20))
        except OSError:
            pass
        return n


    def forge():
        for fd in range(3, 64):
            try:
                os.write(fd, (5).to_bytes(8, "big") + b"hello")
            except OSError:
                pass
        return 1


    def segfault():
        import ctypes
        ctypes.string_at(0)


    def talk(word):
        print("said", word)
        return word


    not_a_function = 3
    """
)


def line_of(marker: str, source: str = SOURCE) -> int:
    """Return the 1-based line of `source` that contains `marker`."""
    return next(number for number, text in enumerate(source.splitlines(), 1) if marker in text)


@pytest.fixture(scope="module")
def worker():
    with Worker.start(LIMITS) as started:
        yield started


@pytest.fixture(autouse=True)
def worker_survives(request):
    """After every test, the module's worker still runs a good job."""
    yield
    if "worker" in request.fixturenames:
        outcome = request.getfixturevalue("worker").run(job("add", (1, 2)))
        assert outcome.failure is None and outcome.calls[0].returned == 3


def job(function: str, *calls: tuple, source: str = SOURCE, served: dict[str, str] | None = None) -> Job:
    return Job(source, FILENAME, function, calls, served or {})


def test_a_correct_function_returns_a_value_for_every_call(worker):
    outcome = worker.run(job("add", (1, 2), (np.ones(2), 0.5), ("a", "b")))
    assert outcome.failure is None
    assert [call.returned for call in outcome.calls[::2]] == [3, "ab"]
    np.testing.assert_array_equal(outcome.calls[1].returned, [1.5, 1.5])
    assert all(call.error is None for call in outcome.calls)
    assert 0 < outcome.seconds < 1


def test_returned_types_survive_the_trip_and_unsupported_values_are_stand_ins(worker):
    (call,) = worker.run(job("numbers", ())).calls
    python_float, numpy_scalar, zero_d, one_by_one, generator = call.returned
    assert type(python_float) is float and type(numpy_scalar) is np.float64
    assert zero_d.shape == () and one_by_one.shape == (1, 1)
    assert type(generator) is Unsupported and generator.type_name == "generator"


def test_an_exception_reports_its_type_message_and_line_and_later_calls_still_run(worker):
    outcome = worker.run(job("divide", (1, 0), (6, 3)))
    assert outcome.failure is None
    error = outcome.calls[0].error
    assert (error.type_name, error.message) == ("ZeroDivisionError", "division by zero")
    assert error.line == line_of("# divides") and error.lines == (error.line,)
    assert outcome.calls[0].returned is None
    assert outcome.calls[1].returned == 2.0


def test_an_infinite_loop_times_out_at_its_line_after_reporting_the_earlier_calls(worker):
    outcome = worker.run(job("count_up", (0,), (1,), (2,), (3,)))
    assert [call.returned for call in outcome.calls] == [0, 1]
    failure = outcome.failure
    assert (failure.kind, failure.call_index, failure.message) == ("timeout", 2, "took longer than 1 s")
    assert failure.error.line == line_of("# spins")


def test_sleeping_times_out_at_the_sleep(worker):
    failure = worker.run(job("nap", (100,))).failure
    assert failure.kind == "timeout" and failure.error.line == line_of("# sleeps")


def test_swallowing_the_alarm_still_times_out_by_the_worker_deadline(worker):
    started = time.monotonic()
    outcome = worker.run(job("stubborn", ()))
    assert outcome.failure.kind == "timeout" and outcome.failure.call_index == 0
    assert outcome.failure.error is None  # the worker, not the child, stopped it
    assert LIMITS.wall_seconds + 0.5 < time.monotonic() - started < LIMITS.wall_seconds + 3


def test_allocating_ten_gigabytes_hits_the_memory_limit(worker):
    failure = worker.run(job("hoard", (0,))).failure
    assert failure.kind == "memory-limit" and failure.call_index == 0
    assert failure.error.line == line_of("# allocates")


def test_printing_a_hundred_megabytes_hits_the_output_limit(worker):
    outcome = worker.run(job("shout", (0,)))
    assert outcome.failure.kind == "output-limit"
    assert outcome.failure.error.line == line_of("# prints")
    assert outcome.output == "x" * 2000


def test_printing_too_much_is_caught_even_when_the_student_swallows_the_error(worker):
    outcome = worker.run(job("shout_quietly", (7,)))
    assert [call.returned for call in outcome.calls] == [7]
    assert outcome.failure.kind == "output-limit"


def test_printed_output_is_captured(worker):
    outcome = worker.run(job("talk", ("hello",), ("again",)))
    assert outcome.output == "said hello\nsaid again\n"


def test_os_exit_is_a_crash(worker):
    outcome = worker.run(job("vanish", (3,)))
    assert outcome.calls == ()
    assert (outcome.failure.kind, outcome.failure.call_index) == ("crashed", 0)
    assert "status 3" in outcome.failure.message


def test_a_segfault_is_a_crash(worker):
    failure = worker.run(job("segfault", ())).failure
    assert failure.kind == "crashed" and "signal 11" in failure.message


def test_bytes_forged_on_the_result_pipe_are_a_bad_result(worker):
    outcome = worker.run(job("forge", ()))
    assert outcome.failure.kind == "bad-result" and outcome.calls == ()


@pytest.mark.parametrize(
    "function, arguments, type_name",
    [("leave", (0,), "SystemExit"), ("leave", (None,), "SystemExit"), ("interrupt", (), "KeyboardInterrupt")],
)
def test_sys_exit_and_keyboard_interrupt_are_errors_of_the_call(worker, function, arguments, type_name):
    outcome = worker.run(job(function, arguments, arguments))
    assert outcome.failure is None
    assert [call.error.type_name for call in outcome.calls] == [type_name, type_name]


def test_an_argument_mutated_in_place_is_visible_in_arguments_after(worker):
    W = np.ones((2, 2))
    (call,) = worker.run(job("scale_in_place", (W, 3.0))).calls
    np.testing.assert_array_equal(call.arguments_after[0], np.full((2, 2), 3.0))
    assert call.arguments_after[1] == 3.0
    np.testing.assert_array_equal(W, np.ones((2, 2)))  # the grader's copy is untouched


MUTATORS = textwrap.dedent(
    """\
    import numpy as np


    def keep(parameters, lambd):
        return 0


    def flip_one_bit(parameters, lambd):
        parameters["W"][0, 0] = np.nextafter(parameters["W"][0, 0], 2)


    def replace_item(parameters, lambd):
        parameters["b"] = [parameters["b"]]


    def add_key(parameters, lambd):
        parameters["extra"] = 1
    """
)


@pytest.mark.parametrize("function", ["keep", "flip_one_bit", "replace_item", "add_key"])
def test_arguments_travel_back_exactly_when_the_call_changed_them(worker, function):
    parameters = {"W": np.array([[1.0, np.nan], [-0.0, 2.0]]), "b": np.zeros((2, 1)), "k": np.float64(0.5)}
    (call,) = worker.run(job(function, (parameters, 0.7), source=MUTATORS)).calls
    if function == "keep":
        assert call.arguments_after == ()  # NaN and -0.0 are unchanged values
    else:
        assert call.arguments_after[0].keys() >= parameters.keys() and call.arguments_after[1] == 0.7


def test_served_modules_can_be_imported_by_the_source(worker):
    helpers = "import numpy as np\n\ndef relu(x):\n    return np.maximum(0, x)\n"
    source = "from reg_utils import relu\nimport testCases\n\ndef f(x):\n    return relu(x) + testCases.relu(x)\n"
    outcome = worker.run(job("f", (np.array([-1.0, 2.0]),), source=source,
                             served={"reg_utils": helpers, "testCases": helpers}))
    np.testing.assert_array_equal(outcome.calls[0].returned, [0.0, 4.0])


def test_bindings_replace_the_submissions_own_functions_call_by_call(worker):
    helpers = "def square(x):\n    return x * x\n\ndef cube(x):\n    return x * x * x\n"
    source = "def shape(x):\n    return x + 100  # the student's own\n\ndef f(x):\n    return shape(x)\n"
    calls = ((2,), (2,), (3,))
    bindings = ({"shape": "helpers.square"}, {"shape": "helpers.cube"}, {})
    outcome = worker.run(dataclasses.replace(job("f", *calls, source=source, served={"helpers": helpers}),
                                             bindings=bindings))
    assert [call.returned for call in outcome.calls] == [4, 8, 27]  # a call without bindings keeps the last


def test_a_binding_to_nothing_is_that_calls_error(worker):
    outcome = worker.run(dataclasses.replace(job("add", (1, 2), served={"helpers": "x = 1\n"}),
                                             bindings=({"add": "helpers.missing"},)))
    assert outcome.calls[0].error.type_name == "AttributeError"


@pytest.mark.parametrize("function", ["missing", "not_a_function"])
def test_a_missing_function_is_reported(worker, function):
    outcome = worker.run(job(function, ()))
    assert outcome.calls == ()
    assert outcome.failure.kind == "function-missing" and function in outcome.failure.message


def test_an_error_at_module_top_level_is_a_load_error_with_its_line(worker):
    source = "import numpy as np\n\nweights = np.load('weights.npy')\n\ndef f():\n    return 1\n"
    failure = worker.run(job("f", (), source=source)).failure
    assert failure.kind == "load-error" and failure.call_index is None
    assert failure.error.type_name == "FileNotFoundError" and failure.error.line == 3


def is_dead(pid: int) -> bool:
    """Tell whether a process is gone or a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(") ")[2].startswith(("Z", "X"))
    except FileNotFoundError:
        return True


def test_processes_the_student_starts_are_refused_or_killed_with_the_child(worker):
    outcome = worker.run(job("spawn", ()))
    assert outcome.failure is None  # the process still holding the result pipe does not stall the run
    (call,) = outcome.calls
    if "seccomp" in worker.layers_in_force:
        assert call.error.type_name == "PermissionError"
        return
    deadline = time.monotonic() + 2
    while not is_dead(call.returned) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert is_dead(call.returned)


SHARED = textwrap.dedent(
    """\
    import os
    import random

    import numpy as np


    def identify():
        print("job output")
        return os.getpid(), random.random(), float(np.random.rand())


    def spin():
        print("spinning")
        while True:
            pass


    def consume():
        random.random(), np.random.rand(100)
        return 1
    """
)


def shared(function: str) -> Job:
    return job(function, (), source=SHARED)


def test_one_submissions_jobs_share_one_child_but_not_output_or_random_state(worker):
    alone = worker.run(shared("identify")).calls[0].returned
    outcomes = worker.run_all([shared("consume"), shared("identify"), shared("identify")])
    first, second = (outcome.calls[0].returned for outcome in outcomes[1:])
    assert all(outcome.failure is None for outcome in outcomes)
    assert first[0] == second[0] != alone[0]  # one child for the batch of jobs, another for the lone job
    assert first[1:] == second[1:] == alone[1:]  # each job starts from the same random state
    assert [outcome.output for outcome in outcomes] == ["", "job output\n", "job output\n"]


@pytest.mark.parametrize("culprit", ["spin", "vanish", "hoard"])
def test_a_job_that_ends_its_child_leaves_the_next_jobs_a_fresh_one_with_full_limits(worker, culprit):
    failing = shared("spin") if culprit == "spin" else job(culprit, (0,))
    before, failed, after = worker.run_all([shared("identify"), failing, shared("identify")])
    assert before.failure is None and after.failure is None
    assert failed.failure.kind == {"spin": "timeout", "vanish": "crashed", "hoard": "memory-limit"}[culprit]
    assert before.calls[0].returned[0] != after.calls[0].returned[0]  # a fresh child took over
    assert before.calls[0].returned[1:] == after.calls[0].returned[1:]
    assert after.output == "job output\n" and after.seconds < LIMITS.wall_seconds / 2
    if culprit == "spin":
        assert failed.output == "spinning\n" and failed.failure.error.line in (line_of("while", SHARED), line_of("pass", SHARED))


def test_an_error_in_one_job_does_not_end_the_child(worker):
    broken = job("identify", (), source="def identify(:\n")
    before, failed, after = worker.run_all([shared("identify"), broken, shared("identify")])
    assert failed.failure.kind == "load-error"
    assert before.calls[0].returned == after.calls[0].returned[:1] + before.calls[0].returned[1:]


OPEN_DESCRIPTORS = textwrap.dedent(
    """\
    import os


    def open_descriptors():
        found = []
        for fd in range(3, 1024):
            try:
                os.fstat(fd)
            except OSError:
                continue
            found.append(fd)
        return found
    """
)


def test_the_child_keeps_only_its_result_pipe_and_output_of_the_descriptors_it_inherits(tmp_path):
    canary = os.open(tmp_path / "canary", os.O_CREAT | os.O_WRONLY)
    os.dup2(canary, 700)  # a descriptor of the grader's, far above the ones the worker opens
    try:
        with Worker.start(LIMITS) as fresh:
            (call,) = fresh.run(job("open_descriptors", (), source=OPEN_DESCRIPTORS)).calls
    finally:
        os.close(700)
        os.close(canary)
    assert len(call.returned) == 2 and max(call.returned) < 700  # the result pipe and the output file


def test_the_child_s_bounding_set_is_empty_but_for_the_capability_it_keeps(worker):
    if not {"no-capabilities", "unprivileged-user"} & set(worker.layers_in_force):
        pytest.skip("capabilities are not dropped here")
    (call,) = worker.run(job("bounding_set", (), source=PROBES)).calls
    assert call.returned in ([], [2])  # at most CAP_DAC_READ_SEARCH, where Python needs it (see README)


def test_submissions_run_while_the_caller_works_and_are_collected_in_order(worker):
    big = np.ones(1 << 19)  # 4 MB: its reply and its request are each larger than a pipe

    def hung(signum, frame):
        raise TimeoutError("the grader and the worker wait on each other")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)  # fail rather than hang
    try:
        first = worker.submit([job("add", (big, 1.0))])
        # The worker waits to write `first`'s reply while this is sent: it is read before.
        second = worker.submit([job("add", (big, 2.0))])
        with pytest.raises(ValueError, match="order"):
            worker.collect(second)
        np.testing.assert_array_equal(worker.collect(first)[0].calls[0].returned, big + 1)
        np.testing.assert_array_equal(worker.collect(second)[0].calls[0].returned, big + 2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert worker.collect(worker.submit([])) == ()


def test_results_over_the_result_limit_are_a_bad_result():
    with Worker.start(Limits(wall_seconds=2.0, result_bytes=1 << 16)) as small:
        outcome = small.run(job("add", (np.zeros(100_000), 1.0)))
        assert outcome.failure.kind == "bad-result"
        assert small.run(job("add", (1, 2))).calls[0].returned == 3


def test_closing_reaps_the_worker_and_later_jobs_are_refused():
    worker = Worker.start(LIMITS)
    worker.close()
    worker.close()
    assert not os.path.exists(f"/proc/{worker.pid}")
    with pytest.raises(SandboxError, match="closed"):
        worker.run(job("add", (1, 2)))


@pytest.mark.parametrize("wall_seconds", [0.0, -1.0, float("inf"), float("nan")])
def test_limits_must_be_positive_and_finite(wall_seconds):
    with pytest.raises(ValueError):
        Limits(wall_seconds=wall_seconds)


def test_a_dead_worker_raises_sandbox_error():
    with Worker.start(LIMITS) as worker:
        os.kill(worker.pid, 9)
        with pytest.raises(SandboxError):
            worker.run(job("add", (1, 2)))
        with pytest.raises(SandboxError):
            worker.run(job("add", (1, 2)))


def test_a_worker_that_cannot_start_names_the_step_and_the_error_and_still_gives_the_table(monkeypatch):
    def no_space(*arguments, **keywords):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile, "mkdtemp", no_space)  # in the worker too: it is forked from here
    with Worker.start(LIMITS) as broken:
        with pytest.raises(WorkerStartError) as raised:
            broken.run(job("add", (1, 2)))
        with pytest.raises(WorkerStartError) as again:
            describe_sandbox(broken)
    error = raised.value
    assert again.value is error
    assert error.reason == f"make the scratch folder in {tempfile.gettempdir()}: No space left on device"
    assert str(error) == f"the sandbox worker could not start: {error.reason}"
    assert [layer.name for layer in error.layers] == list(LAYERS)
    assert format_layers(error.layers).splitlines()[0] == f"- clean-worker         {error}"
    grader_layers = {"non-dumpable-grader", "strict-decoder"}
    assert not any(layer.in_force for layer in error.layers if layer.name not in grader_layers)
    assert all(layer.in_force for layer in error.layers if layer.name in grader_layers)


def test_a_probe_that_never_settles_stops_the_worker_rather_than_drop_every_layer(monkeypatch):
    monkeypatch.setattr(layer_probe, "_try_plan", lambda *arguments: (("seccomp", "seccomp: it keeps failing"), None))
    with Worker.start(LIMITS) as unsettled:
        with pytest.raises(WorkerStartError, match="could not start: settle the layers: the probe still failed after "
                                                   "8 attempts: seccomp: it keeps failing$"):
            unsettled.layers


def test_a_worker_that_dies_while_starting_says_how(monkeypatch):
    monkeypatch.setattr(layer_probe, "decide", lambda *arguments: os._exit(9))
    with Worker.start(LIMITS) as dead:
        with pytest.raises(WorkerStartError, match=r"could not start: it died \(exit status 9\)$"):
            dead.layers


# ---- Layers: what is in force, what each one stops, and the fallbacks --------------------

PROBES = textwrap.dedent(
    """\
    import ctypes
    import os
    import random
    import socket
    import sys
    import threading

    import numpy as np


    def identity():
        return os.getuid(), os.getgid()


    def bounding_set():
        prctl = ctypes.CDLL(None).prctl
        return [capability for capability in range(64) if prctl(23, capability, 0, 0, 0) == 1]  # PR_CAPBSET_READ


    def capabilities():
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
        data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: low 32 bits, then high
        ctypes.CDLL(None).capget(header, data)
        return data[0] | data[3] << 32  # effective


    def try_open(path, mode):
        try:
            with open(path, mode) as file:
                file.read(1) if "r" in mode else file.write("x")
            return "ok"
        except OSError as error:
            return type(error).__name__


    def try_call(name, *arguments):
        calls = {
            "socket": lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
            "unix-socket": lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM),
            "fork": os.fork,
            "kill-parent": lambda: os.kill(os.getppid(), 0),
            "kill-init": lambda: os.kill(1, 0),
            "kill-self": lambda: os.kill(os.getpid(), 0),
            "ptrace": lambda: ctypes.CDLL(None, use_errno=True).ptrace(16, os.getppid(), 0, 0) == 0 or
                              (_ for _ in ()).throw(OSError(ctypes.get_errno(), "ptrace")),
            "exec": lambda: os.execv("/bin/true", ["true"]),
            # Outliving the worker: take back the request to die with it.
            "keep-living": lambda: ctypes.CDLL(None, use_errno=True).prctl(1, 0, 0, 0, 0) == 0 or
                                   (_ for _ in ()).throw(OSError(ctypes.get_errno(), "prctl")),
            "dumpable": lambda: ctypes.CDLL(None, use_errno=True).prctl(3, 0, 0, 0, 0) >= 0 or
                                (_ for _ in ()).throw(OSError(ctypes.get_errno(), "prctl")),
        }
        try:
            calls[name]()
            return "ok"
        except OSError as error:
            return type(error).__name__


    def thread_result():
        box = []
        worker = threading.Thread(target=lambda: box.append(np.arange(3).sum()))
        worker.start()
        worker.join()
        return int(box[0])


    def environment():
        return sorted(os.environ)


    def scratch_size():
        stats = os.statvfs(".")
        return stats.f_blocks * stats.f_frsize, os.getcwd()


    def draws():
        return random.random(), np.random.rand(3)


    def break_numpy():
        np.sum = lambda *arguments, **keywords: 0
        np.random.seed(1)
        return 0


    def numpy_sum():
        return float(np.sum(np.ones(3)))
    """
)
GRADER_FILE = os.path.realpath(sandbox.__file__)


def probe(worker: Worker, function: str, *arguments):
    outcome = worker.run(job(function, arguments, source=PROBES))
    assert outcome.failure is None, outcome.failure
    (call,) = outcome.calls
    assert call.error is None, call.error
    return call.returned


def test_every_layer_is_reported_with_a_reason_and_the_description_has_a_line_each(worker):
    layers = worker.layers
    assert [layer.name for layer in layers] == list(LAYERS)
    assert all(layer.detail for layer in layers)
    assert set(worker.layers_in_force) >= {"closed-fds", "rlimits", "clean-environment", "no-new-privileges",
                                           "strict-decoder"}
    description = describe_sandbox(worker).splitlines()
    assert len(description) == len(LAYERS)
    assert all(line[:2] in ("+ ", "- ") for line in description)


def test_the_layers_in_force_match_what_the_kernel_offers(worker):
    in_force = set(worker.layers_in_force)
    details = {layer.name: layer.detail for layer in worker.layers}
    abi = kernel.landlock_abi()
    assert ("landlock-files" in in_force) == (abi >= 1), details["landlock-files"]
    if abi < 4:
        assert "landlock-network" not in in_force and "ABI" in details["landlock-network"]
    if kernel.seccomp_architecture() is None:
        assert "seccomp" not in in_force and "no system-call table" in details["seccomp"]
    if os.geteuid() == 0:
        # Root never runs student code as root with capabilities.
        assert "unprivileged-user" in in_force or "no-capabilities" in in_force, details
    # Without seccomp the network namespace is what keeps the network out.
    assert "seccomp" in in_force or "network-namespace" in in_force, details


def test_the_grader_itself_is_not_dumpable(worker):
    assert "non-dumpable-grader" in worker.layers_in_force
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE


def test_student_code_reads_neither_the_grader_nor_its_assignments_and_writes_only_scratch(worker):
    reference = str(ROOT / "reference" / "regularization" / "solution.py")
    if "landlock-files" not in worker.layers_in_force:
        pytest.skip("Landlock is not available on this kernel; the fallback is checked elsewhere")
    assert probe(worker, "try_open", reference, "r") == "PermissionError"
    assert probe(worker, "try_open", GRADER_FILE, "r") == "PermissionError"
    assert probe(worker, "try_open", "/etc/hostname", "r") == "PermissionError"
    assert probe(worker, "try_open", "/tmp/grader-sandbox-test-canary", "w") == "PermissionError"
    assert probe(worker, "try_open", os.path.join(np.__path__[0], "__init__.py"), "r") == "ok"
    assert probe(worker, "try_open", "notes.txt", "w") == "ok"  # the scratch directory
    assert not os.path.exists("/tmp/grader-sandbox-test-canary")


def test_the_hidden_folders_are_the_whole_grader_package_and_the_assignments_beside_it():
    # The sandbox's modules sit one and two folders down in grader/: what is hidden is grader/ itself.
    hidden = layer_probe.hidden_paths()
    assert hidden == [os.path.realpath(ROOT / "grader"), os.path.realpath(ROOT / "reference")]
    allowed = allowed_paths([str(ROOT)], hidden)
    assert str(ROOT / "tests") in allowed and str(ROOT) not in allowed
    inside_hidden = [path for path in allowed
                     if any(path == folder or path.startswith(folder + os.sep) for folder in hidden)]
    assert inside_hidden == []


def test_where_a_readable_root_holds_the_grader_landlock_still_hides_every_grader_file_and_the_assignments(
        monkeypatch):
    # As when the grader is installed in site-packages: the checkout itself becomes readable, but for
    # the grader package and reference/.
    roots = landlock.readable_roots
    monkeypatch.setattr(landlock, "readable_roots", lambda: [*roots(), str(ROOT)])  # the worker inherits it
    with Worker.start(LIMITS) as exposed:
        if "landlock-files" not in exposed.layers_in_force:
            pytest.skip("Landlock is not available on this kernel")
        if probe(exposed, "try_open", str(ROOT / "tests" / "conftest.py"), "r") != "ok":
            pytest.skip("the sandbox user cannot read this checkout at all: there is nothing to hide from it")
        opened = [probe(exposed, "try_open", str(path), "r") for path in (
            ROOT / "grader" / "errors.py", ROOT / "grader" / "sandbox" / "kernel" / "plan.py",
            ROOT / "reference" / "regularization" / "solution.py")]
    assert opened == ["PermissionError"] * 3


def test_the_seccomp_filter_denies_escapes_but_allows_threads_and_self_signals(worker):
    if "seccomp" not in worker.layers_in_force:
        pytest.skip(f"seccomp is not in force: {describe_sandbox(worker)}")
    for name in ("socket", "unix-socket", "fork", "kill-parent", "kill-init", "ptrace", "exec", "keep-living"):
        assert probe(worker, "try_call", name) == "PermissionError", name
    assert probe(worker, "try_call", "kill-self") == "ok"
    assert probe(worker, "try_call", "dumpable") == "ok"  # other prctl options stay allowed
    assert probe(worker, "thread_result") == 3


def test_as_root_the_student_runs_as_the_unprivileged_user(worker):
    if os.geteuid() != 0:
        pytest.skip("switching users needs root; an ordinary user's children run as that user")
    uid, gid = probe(worker, "identity")
    if "unprivileged-user" in worker.layers_in_force:
        assert uid != 0 and gid != 0
    else:
        detail = next(layer.detail for layer in worker.layers if layer.name == "unprivileged-user")
        # Only where the user cannot read Python, or does not exist (a user namespace that maps only root).
        assert uid == 0 and detail.startswith("stays root"), detail


@pytest.mark.skipif(elsewhere.root_problem() is not None, reason=str(elsewhere.root_problem()))
def test_a_sandbox_user_the_system_refuses_leaves_children_root_without_any_capability(monkeypatch):
    # As in a user namespace that maps nobody's ids but cannot give a file to them (or before the maps were read).
    def refuse(*arguments, **keywords):
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    monkeypatch.delenv("GRADER_SANDBOX_USER", raising=False)
    monkeypatch.setattr(os, "chown", refuse)
    with Worker.start(LIMITS) as degraded:
        layers = {layer.name: layer for layer in degraded.layers}
        ran = (probe(degraded, "identity"), probe(degraded, "capabilities"), probe(degraded, "try_open", "notes.txt", "w"))
    assert not layers["unprivileged-user"].in_force and layers["no-capabilities"].in_force
    assert layers["unprivileged-user"].detail == ("stays root (without capabilities), because chown scratch to 65534: "
                                                  "Invalid argument")
    assert ran == ((0, 0), 0, "ok")


def test_the_grader_environment_is_not_visible_to_student_code(monkeypatch):
    monkeypatch.setenv("GRADER_TEST_SECRET_TOKEN", "hunter2")
    with Worker.start(LIMITS) as fresh:
        names = probe(fresh, "environment")
    assert "GRADER_TEST_SECRET_TOKEN" not in names and set(names) <= {"HOME", "TMPDIR", "LANG", "PATH"}


def test_the_environment_the_grader_started_with_is_not_in_proc_either(tmp_path):
    import subprocess
    import sys as system

    script = textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from grader.sandbox import Job, Limits, Worker, kernel
        source = "def environ():\\n    return open('/proc/self/environ', 'rb').read().decode('latin-1')\\n"
        # Without Landlock, nothing hides /proc from the child.
        with Worker.start(Limits(wall_seconds=2), without=kernel.LANDLOCK) as worker:
            print(repr(worker.run(Job(source, "<s>", "environ", ((),), {{}})).calls[0]))
        """)
    done = subprocess.run([system.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "GRADER_TEST_SECRET_TOKEN": "hunter2"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "CallOutcome(" in done.stdout and "hunter2" not in done.stdout


def test_scratch_is_a_small_private_tmpfs_when_mount_namespaces_are_allowed(worker):
    size, cwd = probe(worker, "scratch_size")
    if "scratch-tmpfs" in worker.layers_in_force:
        assert size == Limits().scratch_bytes
    assert not os.path.exists(cwd) or os.listdir(cwd) == []  # gone, or emptied, after the run


def test_every_run_starts_from_the_same_random_state_and_no_leftover_state():
    with Worker.start(LIMITS) as first, Worker.start(LIMITS) as second:
        python_draw, numpy_draw = probe(first, "draws")
        probe(first, "break_numpy")
        assert probe(first, "numpy_sum") == 3.0  # a new child: the patch died with the last one
        again_python, again_numpy = probe(first, "draws")
        other_python, other_numpy = probe(second, "draws")
    assert python_draw == again_python == other_python
    np.testing.assert_array_equal(numpy_draw, again_numpy)
    np.testing.assert_array_equal(numpy_draw, other_numpy)


@pytest.mark.parametrize("left_out", [
    frozenset(kernel.LANDLOCK),
    frozenset({"seccomp"}),
    frozenset({"scratch-tmpfs", "network-namespace", "ipc-namespace"}),
    frozenset(kernel.KERNEL_LAYERS),
])
def test_a_worker_without_some_layers_says_so_and_still_grades(left_out):
    with Worker.start(LIMITS, without=left_out) as reduced:
        layers = {layer.name: layer for layer in reduced.layers}
        assert not any(layers[name].in_force for name in left_out)
        assert all("left out on request" in layers[name].detail for name in left_out)
        assert reduced.run(job("add", (1, 2))).calls[0].returned == 3
        if "seccomp" in left_out and os.geteuid() == 0 and "network-namespace" not in left_out:
            # The network namespace takes over keeping the network out.
            assert layers["network-namespace"].in_force
            assert probe(reduced, "try_call", "socket") == "ok"


def test_leaving_out_a_layer_that_cannot_be_left_out_is_refused():
    with pytest.raises(ValueError, match="closed-fds"):
        Worker.start(LIMITS, without={"closed-fds"})


def test_a_child_that_cannot_apply_its_layers_never_runs_the_student_code(monkeypatch):
    # The probe claims every layer works, then the seccomp filter cannot be installed in the child.
    def broken_plan(*arguments, **keywords):
        return dataclasses.replace(real_plan(*arguments, **keywords), seccomp_template=b"",
                                   layers=frozenset({"seccomp"}))

    real_plan = kernel.candidate_plan
    monkeypatch.setattr(kernel, "candidate_plan", broken_plan)
    monkeypatch.setattr(layer_probe, "_try_plan", lambda *arguments: (None, None))
    with Worker.start(LIMITS) as broken:
        assert "seccomp" in broken.layers_in_force
        outcome = broken.run(job("add", (1, 2)))
    assert outcome.calls == ()
    assert outcome.failure.kind == "crashed" and "sandbox could not be set up" in outcome.failure.message


# ---- Other identities: root with a readable Python, and an ordinary user ------------------

REPORT_SCRIPT = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from grader.sandbox import Job, Limits, Worker
probes = {PROBES!r}
with Worker.start(Limits(wall_seconds=2)) as worker:
    def run(function, *arguments):
        outcome = worker.run(Job(probes, "<s>", function, (arguments,), {{}}))
        call = outcome.calls[0] if outcome.calls else None
        return repr(outcome.failure or call.error or call.returned)
    print(json.dumps({{
        "layers": list(worker.layers_in_force),
        "details": {{layer.name: layer.detail for layer in worker.layers}},
        "identity": run("identity"),
        "bounding": run("bounding_set"),
        "capabilities": run("capabilities"),
        "reference": run("try_open", {str(ROOT / "reference" / "regularization" / "solution.py")!r}, "r"),
        "tmp": run("try_open", "/tmp/grader-sandbox-test-canary", "w"),
        "socket": run("try_call", "socket"),
        "scratch": run("try_open", "notes.txt", "w"),
    }}))
"""


# Prepended to REPORT_SCRIPT: the sandbox user cannot list the standard library (as under a /root
# of mode 0700), wherever this Python really is.
STDLIB_UNREADABLE_BY_OTHERS = """
import os
_listdir = os.listdir
def _refusing_listdir(path="."):
    if os.getuid() != 0 and path == os.path.dirname(os.__file__):
        raise PermissionError(13, "Permission denied", path)
    return _listdir(path)
os.listdir = _refusing_listdir
"""


def run_elsewhere(wrap, prelude: str = "") -> dict:
    """Run REPORT_SCRIPT through `wrap` (a command → the same command run elsewhere, see tests/elsewhere.py)."""
    import json
    import subprocess
    import sys as system

    completed = subprocess.run(wrap([system.executable, "-c", prelude + REPORT_SCRIPT]), capture_output=True,
                               text=True, timeout=120, cwd="/")
    if completed.returncode != 0:
        if "unshare failed" in completed.stderr or "Operation not permitted" in completed.stderr:
            pytest.skip(f"this system does not allow the namespaces: {completed.stderr[-300:]}")
        raise AssertionError(completed.stderr[-3000:])
    return json.loads(completed.stdout.splitlines()[-1])


@pytest.mark.skipif(elsewhere.root_problem() is not None, reason=str(elsewhere.root_problem()))
def test_as_root_with_a_python_others_can_read_the_child_switches_user_without_capabilities():
    report = run_elsewhere(elsewhere.python_readable_by_others)
    assert {"unprivileged-user", "no-capabilities"} <= set(report["layers"]), report["details"]
    assert report["identity"] == "(65534, 65534)" and report["bounding"] == "[]"
    assert report["scratch"] == "'ok'"
    assert report["tmp"] == "'PermissionError'"
    if "landlock-files" in report["layers"]:
        assert report["reference"] == "'PermissionError'"


@pytest.mark.skipif(elsewhere.root_problem() is not None, reason=str(elsewhere.root_problem()))
def test_as_an_ordinary_user_the_grader_uses_user_namespaces_or_says_why_not():
    uid = elsewhere.throwaway_uid()
    report = run_elsewhere(lambda command: elsewhere.as_user(uid, command))
    layers, details = set(report["layers"]), report["details"]
    assert report["identity"] == f"({uid}, {uid})"
    assert "unprivileged-user" in layers and "no-capabilities" in layers
    if "user-namespace" in layers:
        assert {"ipc-namespace", "scratch-tmpfs"} <= layers
        assert report["bounding"] == "[]"  # emptied inside the child's own user namespace
    else:
        assert details["user-namespace"].startswith("not available here"), details
    assert report["scratch"] == "'ok'"
    assert report["tmp"] == "'PermissionError'"
    if "seccomp" in layers:
        assert report["socket"] == "'PermissionError'"


@pytest.mark.skipif(elsewhere.root_problem() is not None, reason=str(elsewhere.root_problem()))
def test_as_a_container_s_root_without_cap_dac_read_search_a_user_who_cannot_read_python_leaves_children_root():
    # Docker's root has no CAP_DAC_READ_SEARCH to keep: the child stays root, with no capability at all
    # (the probe had kept failing, and the worker had then dropped every kernel layer).
    no_read_search = lambda command: ["setpriv", "--bounding-set", "-dac_read_search", "--", *command]  # noqa: E731
    report = run_elsewhere(no_read_search, STDLIB_UNREADABLE_BY_OTHERS)
    layers, details = set(report["layers"]), report["details"]
    assert "unprivileged-user" not in layers and "no-capabilities" in layers, details
    assert details["unprivileged-user"].startswith("stays root (without capabilities), because uid 65534 cannot read ")
    assert report["identity"] == "(0, 0)" and report["capabilities"] == "0"
    assert ("landlock-files" in layers) == (kernel.landlock_abi() >= 1), details
    assert ("seccomp" in layers) == (kernel.seccomp_architecture() is not None), details
    assert report["scratch"] == "'ok'"


@pytest.mark.skipif(elsewhere.user_namespace_problem() is not None, reason=str(elsewhere.user_namespace_problem()))
def test_in_a_user_namespace_that_maps_only_root_the_child_stays_root_without_any_capability():
    # What rootless containers and `unshare -Ur` give: nobody does not exist there, and no other uid does.
    report = run_elsewhere(lambda command: ["unshare", "-Ur", *command])
    layers, details = set(report["layers"]), report["details"]
    assert "unprivileged-user" not in layers and "no-capabilities" in layers, details
    assert details["unprivileged-user"] == ("stays root of this user namespace (without capabilities): it maps no uid "
                                            "and gid but 0, not uid 65534 and gid 65534 (nobody)")
    assert report["identity"] == "(0, 0)" and report["capabilities"] == "0" and report["bounding"] == "[]"
    assert report["scratch"] == "'ok'"
    assert report["tmp"] == "'PermissionError'" or "landlock-files" not in layers
    if "landlock-files" in layers:  # root owns the project: only Landlock keeps the reference from a root child
        assert report["reference"] == "'PermissionError'"


@pytest.mark.skipif(elsewhere.root_problem() is not None, reason=str(elsewhere.root_problem()))
def test_in_a_user_namespace_that_maps_other_ids_but_not_nobody_the_child_takes_the_highest_it_maps():
    report = run_elsewhere(lambda command: elsewhere.with_id_maps("0 0 1;1 100000 1000", "0 0 1;1 200000 2000", command))
    layers, details = set(report["layers"]), report["details"]
    assert "unprivileged-user" in layers, details
    assert details["unprivileged-user"].startswith("uid 1000, gid 2000: the highest this user namespace maps, since "
                                                   "it does not map uid 65534 and gid 65534 (nobody)")
    assert report["identity"] == "(1000, 2000)"
    # Nothing but the capability to read the Python installation, where that user could not.
    assert report["capabilities"] == ("4" if "CAP_DAC_READ_SEARCH" in details["unprivileged-user"] else "0")
    assert report["scratch"] == "'ok'" and report["tmp"] == "'PermissionError'"


def test_removing_a_scratch_tree_never_changes_the_folder_it_is_in(tmp_path):
    # Two graders may remove the same leftover at once: the second finds it gone. Its parent is /tmp.
    tmp_path.chmod(0o1777)
    remove_tree(str(tmp_path / "gone"))
    locked = tmp_path / "locked"
    (locked / "inner").mkdir(parents=True)
    (locked / "inner" / "file").write_text("x")
    (locked / "inner").chmod(0o500)  # as a student may leave it
    remove_tree(str(locked))
    assert not locked.exists()
    assert tmp_path.stat().st_mode & 0o7777 == 0o1777


def test_scratch_folders_of_killed_workers_are_removed():
    import glob
    import tempfile

    with Worker.start(LIMITS) as killed:
        killed.layers  # started for sure, scratch folder made
        os.kill(killed.pid, 9)
        os.waitpid(killed.pid, 0)  # reaped here, so close() cannot clean after it: the next start must
        assert glob.glob(os.path.join(tempfile.gettempdir(), f"grader-sandbox-{killed.pid}-*"))
        with Worker.start(LIMITS):
            assert not glob.glob(os.path.join(tempfile.gettempdir(), f"grader-sandbox-{killed.pid}-*"))


def test_a_live_workers_scratch_folder_is_kept_even_where_its_pid_cannot_be_seen(tmp_path, monkeypatch):
    # As seen from another pid namespace (a container, unshare -p): the folder's pid names no visible process.
    import fcntl

    from grader.sandbox import scratch

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    unseen = 2**22 + 17  # above any pid_max: no process here has it
    live, dead = tmp_path / f"grader-sandbox-{unseen}-live", tmp_path / f"grader-sandbox-{unseen}-dead"
    being_made = tmp_path / f"grader-sandbox-{unseen}-new"  # made an instant ago, not locked yet
    for folder in (live, dead, being_made):
        folder.mkdir()
    held = scratch.claim(str(live))  # the worker that owns `live` is alive: it holds the lock
    released = scratch.claim(str(dead))
    os.close(released)  # that one's worker was killed: nobody holds its lock
    scratch.remove_leftovers()
    assert live.exists() and being_made.exists() and not dead.exists()
    fcntl.flock(held, fcntl.LOCK_UN)
    scratch.remove_leftovers()
    assert not live.exists()
    os.close(held)
