"""Run student code in an isolated child process, forked from a warm worker.

Processes: the grader forks one *worker* (`Worker.start`) before any reference code is
loaded; the worker forks one short-lived *child* per job. Messages are codec frames: the
grader sends a job, the child sends one message per finished call (or one failure), and
the worker answers the grader with one RunOutcome. Nothing is unpickled; every message is
checked field by field when it arrives (see the `_*_from_wire` functions).
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import ctypes
import errno
import fcntl
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import math
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import types
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from grader.codec import DecodeError, bounded_text, decode, encode, read_frame, type_name, write_frame
from grader.errors import InternalError

_SCHEMA = "grader.sandbox/1"
_OUTPUT_CHARS = 2000
_TYPE_NAME_CHARS = 200
_MESSAGE_CHARS = 500
_TRACEBACK_LINES = 100
_GRACE_SECONDS = 1.0  # the worker's deadline is this much after the child's own alarm
_REPLY_SLACK_BYTES = 1 << 20  # room for the outcome's own fields around the results
_JOB_MAX_BYTES = 1 << 31
_OPEN_FILES = 64
_FRAME_HEADER_BYTES = 8  # the codec's length prefix
_PR_SET_CHILD_SUBREAPER = 36
_FAILURE_KINDS = frozenset(
    {"load-error", "function-missing", "timeout", "memory-limit", "output-limit", "crashed", "bad-result"}
)


class SandboxError(InternalError):
    """The sandbox worker is closed or died, so the grader cannot run student code."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What a job's child may use."""

    wall_seconds: float = 10.0  # per job (all calls of one function)
    memory_bytes: int = 1 << 30  # address space the child may add on top of the warm worker's
    output_bytes: int = 1 << 20  # stdout+stderr the student may print
    result_bytes: int = 64 << 20  # largest encoded result accepted from the child

    def __post_init__(self) -> None:
        # A zero wall time would disable the child's alarm rather than stop it at once.
        sizes = (self.memory_bytes, self.output_bytes, self.result_bytes)
        if not (0 < self.wall_seconds < math.inf and min(sizes) > 0):
            raise ValueError(f"sandbox limits must be positive and finite: {self}")


@dataclass(frozen=True, slots=True)
class Job:
    """Student code to execute and the calls to make on one of its functions."""

    source: str  # module text to execute (already extracted student code)
    filename: str  # compile() filename, so traceback line numbers are lines of `source`
    function: str  # name of the function to call after executing the module
    calls: tuple[tuple[Any, ...], ...]  # positional arguments for each call, in order
    served_modules: Mapping[str, str]  # module name -> source, importable by `source`


@dataclass(frozen=True, slots=True)
class RaisedError:
    """An exception raised by student code, located in `source`."""

    type_name: str  # e.g. "NameError"
    message: str  # str(exception), at most 500 characters
    line: int | None  # innermost line of `source` on the traceback, if any
    lines: tuple[int, ...]  # every line of `source` on the traceback, outermost first


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one call of the student's function did."""

    returned: Any  # decoded return value (None when it raised)
    arguments_after: tuple[Any, ...]  # the positional arguments after the call (mutation)
    error: RaisedError | None  # the exception the call raised, if any


@dataclass(frozen=True, slots=True)
class RunFailure:
    """Why a run stopped before every call finished."""

    kind: str  # one of _FAILURE_KINDS
    message: str  # one line for a human, e.g. "took longer than 10 s"
    error: RaisedError | None  # where in `source`, when known
    call_index: int | None  # index of the call that was running, when known


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """Everything a job's run produced."""

    calls: tuple[CallOutcome, ...]  # one per call that finished, in order
    failure: RunFailure | None  # why the run stopped early, if it did
    output: str  # first 2000 characters of what the student printed
    seconds: float  # wall time of the child


class Worker:
    """A warm process that forks one isolated child per job; create it with `start`."""

    def __init__(self, pid: int, job_fd: int, reply_fd: int, limits: Limits) -> None:
        """Adopt a running worker process; use `Worker.start` instead."""
        self.pid = pid  # the worker process
        self.limits = limits
        self._job_fd = job_fd
        self._reply_fd = reply_fd
        # Reaps the worker on close(), garbage collection or interpreter exit, once.
        self._finalizer = weakref.finalize(self, _stop_worker, pid, (job_fd, reply_fd), os.getpid())

    @classmethod
    def start(cls, limits: Limits = Limits()) -> Worker:
        """Fork the worker; call this before loading any reference code.

        Raises:
            SandboxError: The worker could not be started.
        """
        try:
            job_read, job_write = _pipe()
            reply_read, reply_write = _pipe()
            pid = os.fork()
        except OSError as error:
            raise SandboxError(f"cannot start the sandbox worker: {error}") from error
        if pid == 0:
            status = 1
            try:
                _worker_main(limits, job_read, reply_write)
                status = 0
            finally:
                os._exit(status)  # never return into the grader's code
        os.close(job_read)
        os.close(reply_write)
        return cls(pid, job_write, reply_read, limits)

    def run(self, job: Job) -> RunOutcome:
        """Run a job in a fresh child of the worker.

        Returns:
            The calls that finished and why the run stopped early, if it did.

        Raises:
            SandboxError: The worker is closed or died.
        """
        if not self._finalizer.alive:
            raise SandboxError("the sandbox worker is closed")
        request = encode(_job_to_wire(job))
        if len(request) > _JOB_MAX_BYTES:
            raise SandboxError(f"the job is {len(request)} bytes, over {_JOB_MAX_BYTES}")
        try:
            write_frame(self._job_fd, request)
            header = read_frame(self._reply_fd, _REPLY_SLACK_BYTES)
            data = read_frame(self._reply_fd, self.limits.result_bytes + _REPLY_SLACK_BYTES)
        except (OSError, DecodeError) as error:
            self.close()
            raise SandboxError(f"lost the sandbox worker: {error}") from error
        if header is None or data is None:
            self.close()
            raise SandboxError("the sandbox worker died")
        try:
            report = _report_from_wire(decode(header, max_bytes=_REPLY_SLACK_BYTES))
        except DecodeError as error:
            return _bad_result(f"the sandbox's reply is malformed: {error}", None)
        return _outcome(job, data, report, self.limits)

    def close(self) -> None:
        """Stop the worker; safe to call more than once."""
        self._finalizer()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _pipe() -> tuple[int, int]:
    """Return a close-on-exec pipe whose ends are above 0-2, which the worker replaces."""
    ends = []
    for end in os.pipe():
        ends.append(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 3))
        os.close(end)
    return ends[0], ends[1]


def _stop_worker(pid: int, fds: tuple[int, ...], owner_pid: int) -> None:
    """Close the worker's pipes and, in the process that started it, reap it."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    if os.getpid() != owner_pid:
        return  # a forked copy of the grader must not kill the original's worker
    with contextlib.suppress(ChildProcessError):
        for _ in range(200):  # an idle worker exits on EOF within milliseconds
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
            time.sleep(0.005)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _bad_result(message: str, call_index: int | None) -> RunOutcome:
    """Return an outcome that only says the result could not be used."""
    return RunOutcome((), RunFailure("bad-result", message, None, call_index), "", 0.0)


def _limit_message(kind: str, limits: Limits) -> str:
    """Return the one-line message for hitting a limit."""
    return {
        "timeout": f"took longer than {limits.wall_seconds:g} s",
        "memory-limit": f"used more than {limits.memory_bytes >> 20} MB of memory",
        "output-limit": f"printed more than {limits.output_bytes} bytes",
    }[kind]


# ---- The worker ------------------------------------------------------------------------


def _worker_main(limits: Limits, job_fd: int, reply_fd: int) -> None:
    """Serve jobs from the grader until it closes the job pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    _close_fds_except({0, 1, 2, job_fd, reply_fd})
    # Processes a student starts become the worker's when their parent exits, so that
    # they are reaped here instead of piling up as zombies under an init that never reaps.
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # Objects inherited from the grader may own descriptors closed above whose numbers
    # get reused; freezing them keeps the cycle collector from ever finalizing them.
    gc.freeze()
    while (frame := read_frame(job_fd, _JOB_MAX_BYTES)) is not None:
        job = _job_from_wire(decode(frame, max_bytes=_JOB_MAX_BYTES))
        _compile_served_modules(job)
        report, data = _run_in_child(job, limits)
        # The child's messages pass through unread: the grader decodes them, strictly, once.
        write_frame(reply_fd, encode(_report_to_wire(report)))
        write_frame(reply_fd, data)


def _close_fds_except(keep: set[int]) -> None:
    """Close every open descriptor of this process that is not in `keep`."""
    for name in os.listdir("/proc/self/fd"):
        if int(name) not in keep:
            with contextlib.suppress(OSError):  # the listing's own, already closed
                os.close(int(name))


def _run_in_child(job: Job, limits: Limits) -> tuple[_ChildReport, bytes]:
    """Fork a child for the job, collect its messages within the limits, and clean up."""
    scratch = tempfile.mkdtemp(prefix="grader-")
    # The worker keeps its own descriptor, so the child cannot hide its output by
    # renaming or replacing the file.
    output_path = os.path.join(scratch, "output.txt")
    output_fd = os.open(output_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child_main(job, limits, write_fd, output_fd, scratch)
    os.close(write_fd)
    try:
        data, stop = _read_child(read_fd, pid, started + limits.wall_seconds + _GRACE_SECONDS, limits.result_bytes)
    finally:
        os.close(read_fd)
        # The whole group, so that processes the student started die too.
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError):
                kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:  # the student's processes, if any
                pass
    seconds = time.monotonic() - started
    output_size = os.fstat(output_fd).st_size
    output = os.pread(output_fd, 4 * _OUTPUT_CHARS, 0).decode("utf-8", "replace")[:_OUTPUT_CHARS]
    os.close(output_fd)
    shutil.rmtree(scratch, ignore_errors=True)

    death = None if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else _death_failure(status, usage, limits)
    report = _ChildReport(stop, death, output_size > limits.output_bytes, output, seconds)
    return report, data[: limits.result_bytes + 1]


@dataclass(frozen=True, slots=True)
class _ChildReport:
    """What the worker saw of one child; the child's own messages travel beside it, unparsed."""

    stop: str  # why the worker stopped reading: "done", "timeout" or "too-large"
    death: RunFailure | None  # how the child ended when it did not exit cleanly (call_index unset)
    output_overflow: bool  # printed more than the limit (perhaps catching the error and going on)
    output: str  # the start of what the student printed
    seconds: float  # wall time of the child


def _outcome(job: Job, data: bytes, report: _ChildReport, limits: Limits) -> RunOutcome:
    """Parse the child's messages (in the grader, strictly) and decide why the run stopped, if it did."""
    calls, failure = _parse_messages(data, len(job.calls), limits)
    if report.stop == "too-large":
        message = f"the results are larger than {limits.result_bytes} bytes"
        failure = RunFailure("bad-result", message, None, len(calls))
    elif failure is None and report.stop == "timeout":
        failure = RunFailure("timeout", _limit_message("timeout", limits), None, len(calls))
    elif failure is None and report.output_overflow:
        failure = RunFailure("output-limit", _limit_message("output-limit", limits), None, None)
    elif failure is None and len(calls) < len(job.calls):
        death = report.death or RunFailure("crashed", "stopped before finishing", None, None)
        failure = dataclasses.replace(death, call_index=len(calls))
    return RunOutcome(tuple(calls), failure, report.output, report.seconds)


def _parse_messages(data: bytes, call_count: int, limits: Limits) -> tuple[list[CallOutcome], RunFailure | None]:
    """Return the calls and the failure the child reported; garbage makes a bad-result failure."""
    calls: list[CallOutcome] = []
    failure: RunFailure | None = None
    try:
        for frame in _frames(data):
            if failure is not None or len(calls) == call_count:
                raise DecodeError("more messages than calls")
            message = decode(frame, max_bytes=limits.result_bytes)
            if type(message) is dict and message.keys() == {"call"}:
                calls.append(_call_from_wire(message["call"]))
            elif type(message) is dict and message.keys() == {"failure"}:
                failure = _failure_from_wire(message["failure"])
            else:
                raise DecodeError("a message is neither a call nor a failure")
    except DecodeError as error:
        failure = RunFailure("bad-result", f"the results could not be read: {error}", None, len(calls))
    return calls, failure


def _read_child(fd: int, pid: int, deadline: float, max_bytes: int) -> tuple[bytes, str]:
    """Read the child's pipe until the child is done, the deadline or `max_bytes`.

    Returns:
        The bytes read, and "done", "timeout" or "too-large".
    """
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    # Processes the student started may keep the pipe open after the child exited, so the
    # child's exit ends the reading too (where pidfds exist: Linux 5.3 and later).
    exit_fd = None
    with contextlib.suppress(OSError):
        exit_fd = os.pidfd_open(pid)
        poller.register(exit_fd, select.POLLIN)
    data = bytearray()
    exited = False
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            # Once the child has exited, only what is already in the pipe is left to read.
            events = dict(poller.poll(0 if exited else math.ceil(remaining * 1000)))
            if fd in events:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return bytes(data), "done"
                data += chunk
                if len(data) > max_bytes:
                    return bytes(data), "too-large"
            elif exited:
                return bytes(data), "done"
            else:
                exited = exit_fd in events
        return bytes(data), "timeout"
    finally:
        if exit_fd is not None:
            os.close(exit_fd)


def _frames(data: bytes) -> Iterator[bytes]:
    """Yield the complete frames in `data`; a frame cut short by the child's death is dropped."""
    offset = 0
    while offset + _FRAME_HEADER_BYTES <= len(data):
        start = offset + _FRAME_HEADER_BYTES
        end = start + int.from_bytes(data[offset:start], "big")
        if end > len(data):
            return
        yield data[start:end]
        offset = end


def _death_failure(status: int, usage: resource.struct_rusage, limits: Limits) -> RunFailure:
    """Explain a child that ended without reporting on every call."""
    if not os.WIFSIGNALED(status):
        message = f"exited with status {os.waitstatus_to_exitcode(status)} before finishing"
        return RunFailure("crashed", message, None, None)
    signum = os.WTERMSIG(status)
    if signum == signal.SIGXCPU:
        return RunFailure("timeout", _limit_message("timeout", limits), None, None)
    # A process near its address-space limit dies by these when a failed allocation is
    # not reported as MemoryError (C code, stack growth, the kernel's OOM killer).
    memory_signals = {signal.SIGKILL, signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT}
    if signum in memory_signals and usage.ru_maxrss * 1024 >= limits.memory_bytes // 2:
        return RunFailure("memory-limit", _limit_message("memory-limit", limits), None, None)
    description = signal.strsignal(signum) or "unknown"
    return RunFailure("crashed", f"was killed by signal {signum} ({description})", None, None)


# ---- The child -------------------------------------------------------------------------


class _WallTimeout(BaseException):
    """Raised in the child by the wall-clock alarm.

    A BaseException, so that `except Exception` in student code does not swallow it.
    """


def _on_alarm(signum: int, frame: types.FrameType | None) -> NoReturn:
    """Interrupt the student's code where it is, so the traceback shows the line."""
    raise _WallTimeout


def _child_main(job: Job, limits: Limits, result_fd: int, output_fd: int, scratch: str) -> NoReturn:
    """Isolate this freshly forked child, run the job, send its messages and exit."""
    status = 70  # the worker reports "crashed" unless everything below completes
    try:
        _isolate(limits, result_fd, output_fd, scratch)

        def send(tag: str, body: Any) -> None:
            write_frame(result_fd, encode({tag: body}))

        _run_job(job, limits, send)
        with contextlib.suppress(OSError):  # a full output file is detected by the worker
            sys.stdout.flush()
        status = 0
    finally:
        os._exit(status)


def _isolate(limits: Limits, result_fd: int, output_fd: int, scratch: str) -> None:
    """Give the child its own process group, streams, directory and resource limits."""
    os.setsid()  # its own process group, which the worker kills as a whole
    signal.signal(signal.SIGALRM, _on_alarm)
    # The alarm only interrupts student code (see _alarm_enabled), never our reporting.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    _close_fds_except({0, 1, 2, result_fd})  # stdin is the worker's /dev/null
    os.chdir(scratch)
    # Line-buffered, so output printed before a crash is already in the file.
    sys.stdout = sys.stderr = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)

    with open("/proc/self/statm") as statm:
        virtual_bytes = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cpu_seconds = math.ceil(limits.wall_seconds) + 1
    _lower_limit(resource.RLIMIT_AS, virtual_bytes + limits.memory_bytes)
    _lower_limit(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)  # SIGXCPU before SIGKILL
    _lower_limit(resource.RLIMIT_FSIZE, limits.output_bytes + 1)  # more than the limit is detectable
    _lower_limit(resource.RLIMIT_NOFILE, _OPEN_FILES)
    _lower_limit(resource.RLIMIT_CORE, 0)
    _lower_limit(resource.RLIMIT_NPROC, _process_allowance())
    signal.setitimer(signal.ITIMER_REAL, limits.wall_seconds)


def _lower_limit(kind: int, soft: int, hard: int | None = None) -> None:
    """Set a resource limit, never above the hard limit already in force."""
    _, current_hard = resource.getrlimit(kind)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
    resource.setrlimit(kind, (min(soft, hard), hard))


def _process_allowance() -> int:
    """Return an RLIMIT_NPROC that stops fork bombs but leaves room for BLAS threads.

    The limit counts every process and thread of the user. It cannot be "one": OpenBLAS
    spins forever when it cannot start its threads. The number of tasks on the whole
    system bounds the user's own; it is one read of /proc/loadavg.
    """
    with open("/proc/loadavg") as loadavg:
        tasks = int(loadavg.read().split()[3].partition("/")[2])
    return tasks + 2 * (os.cpu_count() or 1) + 16


@contextlib.contextmanager
def _alarm_enabled() -> Iterator[None]:
    """Let the wall-clock alarm interrupt the code inside the block."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})


def _run_job(job: Job, limits: Limits, send: Callable[[str, Any], None]) -> None:
    """Execute the submission and call its function, sending a message per finished call."""
    call_index: int | None = None
    try:
        with _alarm_enabled():
            function = _load_submission(job).get(job.function)
        if not callable(function):
            message = f"the code defines no function named {job.function}"
            send("failure", _failure_to_wire(RunFailure("function-missing", message, None, None)))
            return
        for call_index, arguments in enumerate(job.calls):
            try:
                with _alarm_enabled():
                    returned = function(*arguments)
            except BaseException as error:  # SystemExit and KeyboardInterrupt are answers too
                if _limit_kind(error) is not None:
                    raise
                outcome = CallOutcome(None, arguments, _raised(error, job.filename))
            else:
                outcome = CallOutcome(returned, arguments, None)
            send("call", _call_to_wire(outcome))
    except BaseException as error:
        raised = _raised(error, job.filename)
        kind = _limit_kind(error)
        if kind is not None:
            message = _limit_message(kind, limits)
        elif call_index is None:
            kind, message = "load-error", f"running the code raised {raised.type_name}: {raised.message}"
        else:
            raise  # our own failure: the child exits without finishing and the worker says so
        send("failure", _failure_to_wire(RunFailure(kind, message[:_MESSAGE_CHARS], raised, call_index)))


# In the worker: served modules (the course's public helpers) compiled once, then inherited
# by every child through fork instead of being compiled again per submission.
_SERVED_CODE: dict[tuple[str, str], types.CodeType] = {}


def _compile_served_modules(job: Job) -> None:
    for name, source in job.served_modules.items():
        if (name, source) not in _SERVED_CODE:
            try:
                _SERVED_CODE[name, source] = compile(source, f"<served module {name}>", "exec")
            except (SyntaxError, ValueError):
                pass  # the child compiles it again and reports the error as a load error


class _ServedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the job's helper modules on import, and only those imported (most jobs need one or two)."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self.sources = sources

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.util.spec_from_loader(name, self) if name in self.sources else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        name, source = module.__name__, self.sources[module.__name__]
        code = _SERVED_CODE.get((name, source)) or compile(source, f"<served module {name}>", "exec")
        exec(code, module.__dict__)


def _load_submission(job: Job) -> dict[str, Any]:
    """Make the served modules importable, then execute the submission; return its globals."""
    sys.meta_path.insert(0, _ServedModules(job.served_modules))
    namespace = {"__name__": "submission", "__builtins__": builtins}
    exec(compile(job.source, job.filename, "exec"), namespace)
    return namespace


def _limit_kind(error: BaseException) -> str | None:
    """Return the failure kind of an exception that means a limit was hit, else None."""
    if isinstance(error, _WallTimeout):
        return "timeout"
    if isinstance(error, MemoryError):
        return "memory-limit"
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        return "output-limit"
    return None


def _raised(error: BaseException, filename: str) -> RaisedError:
    """Describe an exception, with the lines of `source` (named `filename`) it passed through."""
    lines = []
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename and (traceback.tb_lineno or 0) > 0:
            lines.append(traceback.tb_lineno)
        traceback = traceback.tb_next
    # A syntax error has no frame in `source`, only the line it reports.
    if isinstance(error, SyntaxError) and error.filename == filename and type(error.lineno) is int:
        lines.append(error.lineno)
    if len(lines) > _TRACEBACK_LINES:  # deep recursion: keep both ends
        lines = lines[: _TRACEBACK_LINES // 2] + lines[-_TRACEBACK_LINES // 2 :]
    # The private timeout class's name would mean nothing to a student.
    name = "TimeoutError" if isinstance(error, _WallTimeout) else type_name(error)
    message = bounded_text(str, error, _MESSAGE_CHARS)
    return RaisedError(name[:_TYPE_NAME_CHARS], message, lines[-1] if lines else None, tuple(lines))


# ---- Records on the wire -----------------------------------------------------------------
# Plain dicts and lists that the codec carries. On arrival every field is checked against a
# schema of predicates, and any malformation raises DecodeError.

_Schema = dict[str, Callable[[Any], bool]]


def _text(limit: int) -> Callable[[Any], bool]:
    return lambda value: type(value) is str and len(value) <= limit


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _of_type(kind: type) -> Callable[[Any], bool]:
    return lambda value: type(value) is kind


def _is_line(value: Any) -> bool:
    return type(value) is int and value > 0


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _anything(value: Any) -> bool:
    return True


_JOB: _Schema = {
    "source": _of_type(str),
    "filename": _of_type(str),
    "function": _of_type(str),
    "calls": lambda value: type(value) is list and all(type(arguments) is tuple for arguments in value),
    "served_modules": lambda value: type(value) is dict and all(type(source) is str for source in value.values()),
}
_ERROR: _Schema = {
    "type_name": _text(_TYPE_NAME_CHARS),
    "message": _text(_MESSAGE_CHARS),
    "line": _optional(_is_line),
    "lines": lambda value: type(value) is list and len(value) <= _TRACEBACK_LINES and all(map(_is_line, value)),
}
_CALL: _Schema = {"returned": _anything, "arguments_after": _of_type(tuple), "error": _anything}
_FAILURE: _Schema = {
    "kind": lambda value: type(value) is str and value in _FAILURE_KINDS,
    "message": _text(_MESSAGE_CHARS),
    "error": _anything,
    "call_index": _optional(_is_count),
}
_REPORT: _Schema = {
    "schema": lambda value: type(value) is str and value == _SCHEMA,
    "stop": lambda value: value in ("done", "timeout", "too-large"),
    "death": _anything,
    "output_overflow": _of_type(bool),
    "output": _text(_OUTPUT_CHARS),
    "seconds": lambda value: type(value) is float and value >= 0,
}


def _checked(value: Any, record: str, schema: _Schema) -> dict[str, Any]:
    """Return `value` after checking it is a dict with exactly the schema's valid fields."""
    if type(value) is not dict or value.keys() != schema.keys():
        raise DecodeError(f"malformed {record}: expected the fields {', '.join(schema)}")
    invalid = [name for name, check in schema.items() if not check(value[name])]
    if invalid:
        raise DecodeError(f"malformed {record}: invalid {', '.join(invalid)}")
    return value


def _job_to_wire(job: Job) -> dict[str, Any]:
    return {
        "source": job.source,
        "filename": job.filename,
        "function": job.function,
        "calls": list(job.calls),
        "served_modules": dict(job.served_modules),
    }


def _job_from_wire(value: Any) -> Job:
    fields = _checked(value, "job", _JOB)
    return Job(fields["source"], fields["filename"], fields["function"], tuple(fields["calls"]),
               fields["served_modules"])


def _error_to_wire(error: RaisedError | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"type_name": error.type_name, "message": error.message, "line": error.line, "lines": list(error.lines)}


def _error_from_wire(value: Any) -> RaisedError | None:
    if value is None:
        return None
    fields = _checked(value, "error", _ERROR)
    return RaisedError(fields["type_name"], fields["message"], fields["line"], tuple(fields["lines"]))


def _call_to_wire(call: CallOutcome) -> dict[str, Any]:
    return {"returned": call.returned, "arguments_after": call.arguments_after,
            "error": _error_to_wire(call.error)}


def _call_from_wire(value: Any) -> CallOutcome:
    fields = _checked(value, "call", _CALL)
    return CallOutcome(fields["returned"], fields["arguments_after"], _error_from_wire(fields["error"]))


def _failure_to_wire(failure: RunFailure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {"kind": failure.kind, "message": failure.message, "error": _error_to_wire(failure.error),
            "call_index": failure.call_index}


def _failure_from_wire(value: Any) -> RunFailure | None:
    if value is None:
        return None
    fields = _checked(value, "failure", _FAILURE)
    return RunFailure(fields["kind"], fields["message"], _error_from_wire(fields["error"]), fields["call_index"])


def _report_to_wire(report: _ChildReport) -> dict[str, Any]:
    return {"schema": _SCHEMA, "stop": report.stop, "death": _failure_to_wire(report.death),
            "output_overflow": report.output_overflow, "output": report.output, "seconds": report.seconds}


def _report_from_wire(value: Any) -> _ChildReport:
    fields = _checked(value, "report", _REPORT)
    return _ChildReport(fields["stop"], _failure_from_wire(fields["death"]), fields["output_overflow"],
                        fields["output"], fields["seconds"])
