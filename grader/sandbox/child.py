"""The child: one per submission, forked by the worker; it isolates itself, then runs the submission's jobs.

In order, before any student code runs: its own process group and streams, closed
descriptors, resource limits, then the kernel layers (grader.sandbox.kernel); it fails
closed when one of them cannot be applied. Then, per job: its own output file, random
state, CPU time and wall-clock alarm; the submission executes with the course's helper
modules served on import, the globals a job binds are set before each call (functions the
grader supplies in place of the submission's own), and each call's outcome goes to the worker
as a message (grader.sandbox.protocol), with the arguments only when the call changed them.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import math
import os
import random
import resource
import signal
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NoReturn

import numpy as np

from grader.errors import LayerError, TooLarge
from grader.records import CallOutcome, Job, Limits, RaisedError, RunFailure
from grader.sandbox import kernel
from grader.sandbox.codec import MAX_DEPTH, bounded_text, encode, type_name, write_frame
from grader.sandbox.descriptors import close_fds_except
from grader.sandbox.limits import OPEN_FILES, cpu_seconds, limit_message, lower_limit, process_allowance
from grader.sandbox.protocol import (
    MESSAGE_CHARS,
    REPORTING_FAILED,
    SETUP_FAILED,
    TRACEBACK_LINES,
    TYPE_NAME_CHARS,
    call_to_wire,
    failure_to_wire,
)
from grader.sandbox.settings import Settings


class _WallTimeout(BaseException):
    """Raised in the child by the wall-clock alarm.

    A BaseException, so that `except Exception` in student code does not swallow it.
    """


def _on_alarm(signum: int, frame: types.FrameType | None) -> NoReturn:
    """Interrupt the student's code where it is, so the traceback shows the line."""
    raise _WallTimeout


def child_main(jobs: Sequence[Job], settings: Settings, plan: kernel.Plan, result_fd: int,
               output_fds: Sequence[int], scratch: str, worker_pid: int,
               exit: Callable[[int], NoReturn] = os._exit) -> NoReturn:
    """Isolate this freshly forked child, run the jobs, send their messages and exit.

    Each job's messages end with an empty frame, a marker, unless the job ended the child
    (a limit was hit): then the child exits and the worker gives the other jobs a fresh one.
    `exit` is bound when this module loads: student code that replaces os._exit cannot
    make the child return into the worker's loop.
    """
    status = REPORTING_FAILED  # the worker reports "crashed" unless everything below completes

    def send(tag: str, body: Any) -> None:
        write_frame(result_fd, encode({tag: body}, max_bytes=settings.limits.result_bytes))

    try:
        try:
            _isolate(settings, plan, result_fd, output_fds, scratch, len(jobs), worker_pid)
        except (LayerError, OSError) as error:
            # Fail closed: the student's code never runs with fewer layers than reported.
            message = f"the sandbox could not be set up: {error}"[:MESSAGE_CHARS]
            send("failure", failure_to_wire(RunFailure("crashed", message, None, None)))
            status = SETUP_FAILED
        else:
            for job, output_fd in zip(jobs, output_fds):
                _start_job(settings, output_fd)
                go_on = _run_job(job, settings.limits, send)
                signal.setitimer(signal.ITIMER_REAL, 0)
                with contextlib.suppress(OSError):  # a full output file is detected by the worker
                    sys.stdout.flush()
                if not go_on:
                    break
                write_frame(result_fd, b"")
            status = 0
    finally:
        exit(status)
        os.kill(os.getpid(), signal.SIGKILL)  # if even the bound exit was tampered with


def _isolate(settings: Settings, plan: kernel.Plan, result_fd: int, output_fds: Sequence[int], scratch: str,
             job_count: int, worker_pid: int) -> None:
    """Give the child its own process group, streams, resource limits and layers.

    The environment needs nothing: the worker cleaned it, and the child inherits what is left.
    """
    limits = settings.limits
    os.setsid()  # its own process group, which the worker kills as a whole
    # The alarm only interrupts student code (see _alarm_enabled), never our reporting.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
    keep = {0, 1, 2, result_fd, *output_fds} | ({plan.ruleset_fd} if plan.ruleset_fd >= 0 else set())
    close_fds_except(keep)  # stdin is the worker's /dev/null
    os.dup2(output_fds[0], 1)
    # Line-buffered, so output printed before a crash is already in the file.
    sys.stdout = sys.stderr = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
    if "rlimits" not in settings.without:
        with open("/proc/self/statm") as statm:
            virtual_bytes = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        lower_limit(resource.RLIMIT_AS, virtual_bytes + limits.memory_bytes)
        # Room for every job; _start_job lowers the soft limit to the running job's share.
        lower_limit(resource.RLIMIT_CPU, job_count * cpu_seconds(limits) + 1)
        lower_limit(resource.RLIMIT_FSIZE, limits.output_bytes + 1)  # more than the limit is detectable
        lower_limit(resource.RLIMIT_NOFILE, OPEN_FILES)
        lower_limit(resource.RLIMIT_CORE, 0)
        lower_limit(resource.RLIMIT_NPROC, process_allowance())
    # Namespaces, user, capabilities, death with the worker (asked after the change of user, which makes
    # the kernel forget it), Landlock, seccomp; then chdir(scratch).
    kernel.confine(plan, scratch, worker_pid)


def _start_job(settings: Settings, output_fd: int) -> None:
    """Give the next job its own output file, random state, CPU time and wall-clock alarm."""
    with contextlib.suppress(OSError):
        sys.stdout.flush()  # what the previous job printed goes to its own file
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    # Every job starts from the same random state, whatever the worker or a previous job left.
    random.seed(0)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(0)
    if "rlimits" not in settings.without:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = math.ceil(usage.ru_utime + usage.ru_stime) + cpu_seconds(settings.limits)
        resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard - 1), hard))  # SIGXCPU before SIGKILL
    # Installing the handler anew drops an alarm left pending by the previous job.
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, settings.limits.wall_seconds)


@contextlib.contextmanager
def _alarm_enabled() -> Iterator[None]:
    """Let the wall-clock alarm interrupt the code inside the block."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})


def _run_job(job: Job, limits: Limits, send: Callable[[str, Any], None]) -> bool:
    """Execute the submission and call its function, sending a message per finished call.

    Returns:
        Whether the child may run another job: not after a limit was hit, which may leave
        the interpreter in any state.
    """
    call_index: int | None = None
    try:
        with _alarm_enabled():
            namespace = _load_submission(job)
        function = namespace.get(job.function)
        if not callable(function):
            message = f"the code defines no function named {job.function}"
            send("failure", failure_to_wire(RunFailure("function-missing", message, None, None)))
            return True
        pristine = _pristine_fingerprints(job)
        for call_index, arguments in enumerate(job.calls):
            # Arguments travel back only when the call changed them: most calls don't, and this halves
            # what the grader decodes. (A student can only hide a mutation from their own grade.)
            before = pristine[call_index] if pristine else _fingerprint(arguments)
            try:
                with _alarm_enabled():
                    if job.bindings:
                        _bind(namespace, job.bindings[call_index])
                    returned = function(*arguments)
            except BaseException as error:  # SystemExit and KeyboardInterrupt are answers too
                if _limit_kind(error) is not None:
                    raise
                after = () if _fingerprint(arguments) == before else arguments
                outcome = CallOutcome(None, after, _raised(error, job.filename))
            else:
                after = () if _fingerprint(arguments) == before else arguments
                outcome = CallOutcome(returned, after, None)
            try:
                send("call", call_to_wire(outcome))
            except TooLarge:
                message = f"the results are larger than {limits.result_bytes} bytes"
                send("failure", failure_to_wire(RunFailure("bad-result", message, None, call_index)))
                return True
    except BaseException as error:
        raised = _raised(error, job.filename)
        kind = _limit_kind(error)
        if kind is not None:
            message = limit_message(kind, limits)
        elif call_index is None:
            kind, message = "load-error", f"running the code raised {raised.type_name}: {raised.message}"
        else:
            raise  # our own failure: the child exits without finishing and the worker says so
        send("failure", failure_to_wire(RunFailure(kind, message[:MESSAGE_CHARS], raised, call_index)))
        return kind == "load-error"
    return True


_NUMPY_SCALARS = frozenset(np.sctypeDict.values())


def _fingerprint(value: Any, depth: int = 0) -> Any:
    """What `value` holds, as bytes and tuples that compare in C: equal fingerprints mean equal values.

    Cheap for what probes hold (arrays, numbers, dicts). Anything else gets a fingerprint
    equal to nothing, so the arguments travel back and the grader compares them itself.
    """
    kind = type(value)
    if kind is np.ndarray:
        return kind, value.shape, value.dtype.str, value.tobytes()
    if value is None or kind in (int, str, bool):
        return kind, value
    if kind is float:
        return kind, value.hex()  # NaN equals itself
    if kind in _NUMPY_SCALARS:
        return kind, value.tobytes()
    if depth < MAX_DEPTH:
        if kind in (tuple, list):
            return kind, tuple(_fingerprint(item, depth + 1) for item in value)
        if kind is dict and all(type(key) is str for key in value):
            return kind, tuple((key, _fingerprint(item, depth + 1)) for key, item in value.items())
    return object()


# In the worker: the fingerprint of every call's arguments as sent, by calls_key (with the calls
# themselves, to check they are those the job holds), inherited by every child through fork.
_PRISTINE: dict[str, tuple[tuple[tuple[Any, ...], ...], tuple[Any, ...]]] = {}


def fingerprint_calls(job: Job) -> None:
    if job.calls_key is not None and not _pristine_fingerprints(job):
        _PRISTINE[job.calls_key] = (job.calls, tuple(_fingerprint(arguments) for arguments in job.calls))


def _pristine_fingerprints(job: Job) -> tuple[Any, ...]:
    """The fingerprints of the job's calls as sent, when the worker took them (else empty)."""
    kept = _PRISTINE.get(job.calls_key) if job.calls_key is not None else None
    return kept[1] if kept is not None and kept[0] is job.calls else ()


# In the worker: served modules (the course's public helpers) compiled once, then inherited
# by every child through fork instead of being compiled again per submission.
_SERVED_CODE: dict[tuple[str, str], types.CodeType] = {}


def compile_served_modules(job: Job) -> None:
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


def _bind(namespace: dict[str, Any], bindings: Mapping[str, str]) -> None:
    """Set the submission's globals named in `bindings` to the served modules' attributes they name."""
    for name, target in bindings.items():
        module, _, attribute = target.rpartition(".")
        namespace[name] = getattr(importlib.import_module(module), attribute)


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
    if len(lines) > TRACEBACK_LINES:  # deep recursion: keep both ends
        lines = lines[: TRACEBACK_LINES // 2] + lines[-TRACEBACK_LINES // 2 :]
    # The private timeout class's name would mean nothing to a student.
    name = "TimeoutError" if isinstance(error, _WallTimeout) else type_name(error)
    message = bounded_text(str, error, MESSAGE_CHARS)
    return RaisedError(name[:TYPE_NAME_CHARS], message, lines[-1] if lines else None, tuple(lines))
