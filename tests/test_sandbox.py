"""The sandbox, exercised with real processes: results, errors, limits, and a worker that survives."""

from __future__ import annotations

import os
import textwrap
import time

import numpy as np
import pytest

from grader.codec import Unsupported
from grader.sandbox import Job, Limits, SandboxError, Worker

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


def test_served_modules_can_be_imported_by_the_source(worker):
    helpers = "import numpy as np\n\ndef relu(x):\n    return np.maximum(0, x)\n"
    source = "from reg_utils import relu\nimport testCases\n\ndef f(x):\n    return relu(x) + testCases.relu(x)\n"
    outcome = worker.run(job("f", (np.array([-1.0, 2.0]),), source=source,
                             served={"reg_utils": helpers, "testCases": helpers}))
    np.testing.assert_array_equal(outcome.calls[0].returned, [0.0, 4.0])


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


def test_processes_the_student_starts_are_killed_with_the_child(worker):
    outcome = worker.run(job("spawn", ()))
    assert outcome.failure is None  # the process still holding the result pipe does not stall the run
    deadline = time.monotonic() + 2
    while not is_dead(outcome.calls[0].returned) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert is_dead(outcome.calls[0].returned)


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
