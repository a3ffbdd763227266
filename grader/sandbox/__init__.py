"""Run student code in an isolated child process, forked from a warm worker.

Processes: the grader forks one *worker* (`Worker.start`) before any reference code is
loaded; the worker forks one short-lived *child* per submission, which runs its jobs (one per
graded function) one after the other. Messages are codec frames: the grader sends the jobs,
the child sends one message per finished call (or one failure) and an empty frame after each
job, and the worker answers the grader with a report and the messages of each job. Nothing is
unpickled; every message is checked field by field when it arrives (see the `_*_from_wire`
functions).

Layers (DESIGN.md §5): when it starts, the worker probes in a throw-away child which kernel
layers this system allows (grader/sandbox/kernel/) and tells the grader (`Worker.layers`); every
child then applies exactly those before running student code, or does not run it.
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import dataclasses
import errno
import fcntl
import gc
import glob
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import math
import os
import random
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import types
import weakref
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from grader.errors import LayerError, SandboxError, WorkerStartError
from grader.lifetime import die_with_parent
from grader.records import CallOutcome, Job, Layer, Limits, RaisedError, RunFailure, RunOutcome
from grader.sandbox import identity, kernel, startup
from grader.sandbox.codec import (
    MAX_DEPTH,
    DecodeError,
    TooLarge,
    bounded_text,
    decode,
    encode,
    read_frame,
    type_name,
    write_frame,
)

_SCHEMA = "grader.sandbox/1"
_OUTPUT_CHARS = 2000
_TYPE_NAME_CHARS = 200
_MESSAGE_CHARS = 500
_TRACEBACK_LINES = 100
_GRACE_SECONDS = 1.0  # the worker's deadline is this much after the child's own alarm
_EXIT_WAIT_SECONDS = 0.5  # how long a child that closed its result pipe has to exit by itself
_DRAIN_SECONDS = 0.05  # how often the worker empties the result pipe of a child still running
_PIPE_BYTES = 1 << 20  # pipe size where allowed: what a writer can send before it waits for the reader
_REPORTING_FAILED = 70  # exit status of a child whose own reporting code failed
_REPLY_SLACK_BYTES = 1 << 20  # room for the outcome's own fields around the results
_JOB_MAX_BYTES = 1 << 31
_OPEN_FILES = 64
_FRAME_HEADER_BYTES = 8  # the codec's length prefix
_PR_SET_CHILD_SUBREAPER = 36
_SETUP_FAILED = 71  # exit status of a child that could not apply its layers
_PROBE_ATTEMPTS = 8
# Every layer, in the order they are described; see describe_sandbox().
LAYERS = (
    "clean-worker", "closed-fds", "clean-environment", "rlimits", *kernel.NAMESPACES, kernel.SCRATCH_TMPFS,
    kernel.UNPRIVILEGED_USER, kernel.NO_CAPABILITIES, "no-new-privileges", *kernel.LANDLOCK, kernel.SECCOMP,
    "non-dumpable-grader", "strict-decoder",
)
# Layers a caller may leave out, to measure what each costs or to test a fallback.
OPTIONAL_LAYERS = frozenset({"clean-environment", "rlimits", *kernel.KERNEL_LAYERS})
# The private package names grader.spec loads instructor modules under.
_REFERENCE_MODULE_PREFIX = "_grader_assignment_"
_FAILURE_KINDS = frozenset(
    {"load-error", "function-missing", "timeout", "memory-limit", "output-limit", "crashed", "bad-result"}
)


@dataclass(slots=True)
class Submitted:
    """Jobs sent to the worker (see Worker.submit), and the replies read so far."""

    jobs: tuple[Job, ...]
    replies: list[tuple[bytes, bytes]] = dataclasses.field(default_factory=list)


class Worker:
    """A warm process that forks one isolated child per submission; create it with `start`."""

    def __init__(self, pid: int, job_fd: int, reply_fd: int, limits: Limits, grader_layers: tuple[Layer, ...] = ()) -> None:
        """Adopt a running worker process; use `Worker.start` instead."""
        self.pid = pid  # the worker process
        self.limits = limits
        self._job_fd = job_fd
        self._reply_fd = reply_fd
        self._grader_layers = grader_layers  # the layers of the grader's own process
        self._layers: tuple[Layer, ...] | None = None  # the worker's report, read on first need
        self._start_error: WorkerStartError | None = None  # why the worker could not start, once known
        self._sent_calls: set[str] = set()  # calls_key values this worker already holds
        self._outstanding: deque[Submitted] = deque()  # submitted, not collected yet, oldest first
        # Reaps the worker on close(), garbage collection or interpreter exit, once.
        self._finalizer = weakref.finalize(self, _stop_worker, pid, (job_fd, reply_fd), os.getpid())

    @classmethod
    def start(cls, limits: Limits = Limits(), *, user: str | None = None, without: Collection[str] = ()) -> Worker:
        """Fork the worker; call this before loading any reference code.

        Args:
            limits: What each job's child may use.
            user: When running as root, the user the children switch to: a name, or
                "uid[:gid]" (default: $GRADER_SANDBOX_USER, else "nobody").
            without: Layers to leave out (names from OPTIONAL_LAYERS), to measure what
                they cost or to test a fallback; never needed otherwise.

        Raises:
            SandboxError: The worker could not be started.
            ValueError: `without` names a layer that cannot be left out.
        """
        unknown = set(without) - OPTIONAL_LAYERS
        if unknown:
            raise ValueError(f"these layers cannot be left out: {', '.join(sorted(unknown))}")
        settings = _Settings(limits, identity.requested_user(user) if os.geteuid() == 0 else None, frozenset(without))
        _remove_leftovers()
        # Non-dumpable: the grader's own user cannot ptrace it or read /proc/PID/mem.
        problem = kernel.make_grader_non_dumpable()
        grader_layers = (
            Layer("non-dumpable-grader", problem is None,
                  "the grader cannot be traced, core-dumped or read through /proc/PID/mem by its own user"
                  if problem is None else f"prctl(PR_SET_DUMPABLE) failed: {problem}"),
            Layer("strict-decoder", True, "results are JSON checked field by field: nothing is unpickled or evaluated"),
        )
        try:
            with startup.step("make the worker's pipes"):
                job_read, job_write = _pipe()
                reply_read, reply_write = _pipe()
            parent_pid = os.getpid()
            with startup.step("fork the worker"):
                pid = os.fork()
        except startup.StartFailure as failure:
            raise WorkerStartError(str(failure), _unstarted(str(failure), grader_layers)) from failure
        if pid == 0:
            status = 1
            try:
                die_with_parent(parent_pid)
                _worker_main(settings, job_read, reply_write)
                status = 0
            finally:
                os._exit(status)  # never return into the grader's code
        os.close(job_read)
        os.close(reply_write)
        return cls(pid, job_write, reply_read, limits, grader_layers)

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Every layer of the sandbox (see LAYERS), with whether it is in force and why.

        Raises:
            WorkerStartError: The worker could not start: which step failed, or how it died.
            SandboxError: The worker is closed.
        """
        if self._start_error is not None:
            raise self._start_error
        if self._layers is None:
            if not self._finalizer.alive:
                raise SandboxError("the sandbox worker is closed")
            try:
                frame = read_frame(self._reply_fd, _REPLY_SLACK_BYTES)
                reason = f"it died ({startup.exit_text_of(self.pid)})" if frame is None else None
                if frame is not None:
                    layers, reason = _start_report_from_wire(decode(frame, max_bytes=_REPLY_SLACK_BYTES))
                    self._layers = (*layers, *self._grader_layers)
            except (OSError, DecodeError) as error:
                reason = f"its report was lost: {error}"
            if reason is not None:
                self.close()
                self._start_error = WorkerStartError(reason, _unstarted(reason, self._grader_layers))
                raise self._start_error
        assert self._layers is not None
        return self._layers

    @property
    def sandbox_user(self) -> str:
        """Which user the children run as, and why that one (the unprivileged-user layer's line)."""
        return next(layer.detail for layer in self.layers if layer.name == kernel.UNPRIVILEGED_USER)

    @property
    def layers_in_force(self) -> tuple[str, ...]:
        """Names of the layers in force, in the order of LAYERS."""
        return tuple(layer.name for layer in self.layers if layer.in_force)

    def run(self, job: Job) -> RunOutcome:
        """Run a job in a fresh child of the worker (see `run_all`)."""
        return self.run_all((job,))[0]

    def run_all(self, jobs: Sequence[Job]) -> tuple[RunOutcome, ...]:
        """Run one submission's jobs one after the other, in one fresh child of the worker.

        Each job has its own namespace, output, time limit and random seed; the jobs share
        the child's process, layers, memory limit and imported modules. A job that hits a
        limit or kills the child ends it, and the jobs after it run in a fresh child. Never
        give it jobs of different submissions: one job's code can change what the next sees.

        Returns:
            One outcome per job, in order: the calls that finished and why the run stopped early, if it did.

        Raises:
            SandboxError: The worker is closed or died.
        """
        return self.collect(self.submit(jobs))

    def submit(self, jobs: Sequence[Job]) -> Submitted:
        """Start `run_all(jobs)` and return at once, so that the caller works while the child runs.

        Collect every submission, in the order submitted, with `collect`.

        Raises:
            SandboxError: The worker is closed or died.
        """
        if not self._finalizer.alive:
            raise SandboxError("the sandbox worker is closed")
        submitted = Submitted(tuple(jobs))
        if not jobs:
            return submitted
        # Calls with a key go to this worker once; later jobs with the key send only the key.
        wire = []
        for job in jobs:
            wire.append(_job_to_wire(job, job.calls_key is None or job.calls_key not in self._sent_calls))
            if job.calls_key is not None:
                self._sent_calls.add(job.calls_key)
        request = encode({"jobs": wire})
        if len(request) > _JOB_MAX_BYTES:
            raise SandboxError(f"the jobs are {len(request)} bytes, over {_JOB_MAX_BYTES}")
        self.layers  # the worker's first message, before any reply
        if self._outstanding and len(request) > fcntl.fcntl(self._job_fd, fcntl.F_GETPIPE_SZ) // 2:
            # The worker might wait to write earlier replies while we wait to write this: read them first.
            for earlier in self._outstanding:
                self._read_replies(earlier)
        try:
            write_frame(self._job_fd, request)
        except OSError as error:
            self.close()
            raise SandboxError(f"lost the sandbox worker: {error}") from error
        self._outstanding.append(submitted)
        return submitted

    def collect(self, submitted: Submitted) -> tuple[RunOutcome, ...]:
        """The outcomes of a submission (see `run_all`); the oldest one not collected yet.

        Raises:
            SandboxError: The worker is closed or died.
        """
        if not submitted.jobs:
            return ()
        if not self._outstanding or self._outstanding[0] is not submitted:
            raise ValueError("collect submissions in the order they were submitted")
        self._read_replies(submitted)
        self._outstanding.popleft()
        outcomes = []
        for job, (header, data) in zip(submitted.jobs, submitted.replies):
            try:
                report = _report_from_wire(decode(header, max_bytes=_REPLY_SLACK_BYTES))
            except DecodeError as error:
                outcomes.append(_bad_result(f"the sandbox's reply is malformed: {error}", None))
                continue
            outcomes.append(_outcome(job, data, report, self.limits))
        return tuple(outcomes)

    def _read_replies(self, submitted: Submitted) -> None:
        """Read a submission's replies, and those of every one submitted before it, if not done yet."""
        for pending in self._outstanding:
            while len(pending.replies) < len(pending.jobs):
                if not self._finalizer.alive:
                    raise SandboxError("the sandbox worker is closed")
                try:
                    header = read_frame(self._reply_fd, _REPLY_SLACK_BYTES)
                    data = read_frame(self._reply_fd, self.limits.result_bytes + _REPLY_SLACK_BYTES)
                except (OSError, DecodeError) as error:
                    self.close()
                    raise SandboxError(f"lost the sandbox worker: {error}") from error
                if header is None or data is None:
                    self.close()
                    raise SandboxError("the sandbox worker died")
                pending.replies.append((header, data))
            if pending is submitted:
                return

    def close(self, now: bool = False) -> None:
        """Stop the worker; safe to call more than once. With `now`, kill it (and the child it runs) at once."""
        if now and self._finalizer.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self._finalizer()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def layers_in_force(worker: Worker | None = None) -> tuple[str, ...]:
    """Return the names of the layers in force (probing with a short-lived worker when none is given)."""
    if worker is not None:
        return worker.layers_in_force
    with Worker.start() as probe:
        return probe.layers_in_force


def describe_sandbox(worker: Worker | None = None) -> str:
    """Return one line per layer, for humans: "+" in force, "-" not, and what it does or why not.

    Raises:
        WorkerStartError: The worker could not start (its `layers` say why, for `format_layers`).
    """
    if worker is None:
        with Worker.start() as probe:
            return describe_sandbox(probe)
    return format_layers(worker.layers)


def format_layers(layers: Sequence[Layer]) -> str:
    """One line per layer: "+" in force, "-" not, its name, and what it does or why not."""
    width = max(len(name) for name in LAYERS)
    return "\n".join(f"{'+' if layer.in_force else '-'} {layer.name:<{width}}  {layer.detail}" for layer in layers)


def _unstarted(reason: str, grader_layers: tuple[Layer, ...]) -> tuple[Layer, ...]:
    """The layer table of a worker that could not start: none of its layers, and why."""
    worker_layers = [name for name in LAYERS if name not in {layer.name for layer in grader_layers}]
    return (*(Layer(name, False, f"the sandbox worker could not start: {reason}" if index == 0 else
                    "not probed: the sandbox worker could not start") for index, name in enumerate(worker_layers)),
            *grader_layers)


@dataclass(frozen=True, slots=True)
class _Settings:
    """What the grader asks of the worker."""

    limits: Limits
    user: identity.SandboxUser | None  # the user children switch to when the grader is root, if its namespace maps it
    without: frozenset[str]  # layers to leave out


def _pipe() -> tuple[int, int]:
    """Return a close-on-exec pipe whose ends are above 0-2, which the worker replaces, as large as allowed.

    Large, so that neither side waits on the other while both work (see Worker.submit).
    """
    ends = []
    for end in os.pipe():
        ends.append(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 3))
        os.close(end)
    with contextlib.suppress(OSError):  # the system's pipe-max-size may be smaller
        fcntl.fcntl(ends[1], fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
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
                break
            time.sleep(0.005)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    # A worker that was killed could not remove its scratch folder.
    for leftover in glob.glob(os.path.join(tempfile.gettempdir(), f"{_scratch_prefix(pid)}*")):
        _remove_tree(leftover)


def _scratch_prefix(worker_pid: int) -> str:
    return f"grader-sandbox-{worker_pid}-"


def _remove_leftovers() -> None:
    """Remove the scratch folders of workers that were killed (with their grader) before cleaning up."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "grader-sandbox-[0-9]*-*")):
        pid_text = os.path.basename(path).split("-")[2]
        try:
            if os.stat(path).st_uid != os.geteuid():
                continue
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            _remove_tree(path)
        except (OSError, ValueError):
            continue


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


def _worker_main(settings: _Settings, job_fd: int, reply_fd: int) -> None:
    """Start up, report the layers (or the step that failed), then serve jobs until the grader closes the job pipe."""
    scratch_base = ""
    try:
        try:
            scratch_base, reference_modules = _prepare_worker(settings, job_fd, reply_fd)
            plan, layers = _decide(settings, scratch_base, reference_modules)
            plan = kernel.drop_bounding_set(plan)
        except Exception as error:  # whatever stopped the start, the grader hears which step and why
            write_frame(reply_fd, encode(_start_failure_to_wire(startup.failure_text(error))))
            return
        write_frame(reply_fd, encode(_layers_to_wire(layers)))
        known_calls: dict[str, tuple[tuple[Any, ...], ...]] = {}  # calls_key → calls, sent once by the grader
        while (frame := read_frame(job_fd, _JOB_MAX_BYTES)) is not None:
            jobs = _jobs_from_wire(decode(frame, max_bytes=_JOB_MAX_BYTES), known_calls)
            for job in jobs:
                _compile_served_modules(job)
                _fingerprint_calls(job)
            # A fresh child takes over the jobs after one that ended its child (see Worker.run_all).
            done = 0
            while done < len(jobs):
                for report, data in _run_in_child(jobs[done:], settings, plan, scratch_base):
                    # The child's messages pass through unread: the grader decodes them, strictly, once.
                    write_frame(reply_fd, encode(_report_to_wire(report)))
                    write_frame(reply_fd, data)
                    done += 1
    finally:
        if scratch_base:
            _remove_tree(scratch_base)


def _prepare_worker(settings: _Settings, job_fd: int, reply_fd: int) -> tuple[str, int]:
    """Make this fresh worker clean: streams, descriptors, modules, environment; make its scratch base.

    Returns:
        The scratch base, and how many instructor modules were dropped (see _forget_reference_modules).

    Raises:
        StartFailure: A step failed (the scratch base is made last: nothing is left to remove).
    """
    # A process group of its own, which a child sees wherever the grader runs: where the grader's
    # group belongs to an outer pid namespace (`unshare -Urpf`), getpgid() reports it as 0, and a
    # child that kills "its parent's group" would kill its own instead of being refused.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    with startup.step("open /dev/null"):
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
    with startup.step("close the descriptors inherited from the grader"):
        _close_fds_except({0, 1, 2, job_fd, reply_fd})
    # Processes a student starts become the worker's when their parent exits, so that
    # they are reaped here instead of piling up as zombies under an init that never reaps.
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    reference_modules = _forget_reference_modules()
    if "numpy" in sys.modules:
        # Loaded once here (numpy loads it lazily), so that each child can seed it cheaply.
        importlib.import_module("numpy.random")
    # Objects inherited from the grader may own descriptors closed above whose numbers
    # get reused; freezing them keeps the cycle collector from ever finalizing them.
    gc.freeze()
    # The children's scratch directories are made, one at a time, under this one.
    with startup.step(f"make the scratch folder in {tempfile.gettempdir()}"):
        scratch_base = tempfile.mkdtemp(prefix=_scratch_prefix(os.getpid()))
    if "clean-environment" not in settings.without:
        # The grader's environment may hold tokens (CI) that the student's output must never show:
        # the worker drops it once, and every child inherits what is left.
        for name in list(os.environ):  # os.environ.clear() takes 3 times as long
            del os.environ[name]
        _erase_initial_environment()
        scratch = _scratch_path(scratch_base)
        os.environ.update({"HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"})
        tempfile.tempdir = scratch
    return scratch_base, reference_modules


def _erase_initial_environment() -> None:
    """Zero the environment strings the process started with, which /proc/PID/environ shows.

    Unsetting variables leaves them there; where Landlock cannot hide /proc, a child could
    read the grader's tokens from its own /proc/self/environ. Nothing points to them once
    every variable is unset.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end: fields 50 and 51 of proc(5)
        if 0 < start < end:
            ctypes.memset(start, 0, end - start)


def _forget_reference_modules() -> int:
    """Drop instructor modules from sys.modules, in case the worker was started after loading them.

    Returns:
        How many there were (0 when the worker was started first, as it should be).
    """
    names = [name for name in sys.modules if name.startswith(_REFERENCE_MODULE_PREFIX)]
    for name in names:
        del sys.modules[name]
    return len(names)


def _close_fds_except(keep: set[int]) -> None:
    """Close every open descriptor of this process that is not in `keep`.

    One close_range system call per gap between the kept ones (os.closerange, Linux 5.9 and
    later; older kernels get a close per number up to the descriptor limit).
    """
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    low = 0
    for high in (*sorted(keep), limit if limit != resource.RLIM_INFINITY else 1 << 30):
        if low < high:  # never an empty range: closerange(0, 0) would close everything
            os.closerange(low, high)
        low = high + 1


def _remove_tree(path: str) -> None:
    """Remove a directory tree, even one whose modes the student changed."""

    def make_writable(function: Any, failed: str, info: Any) -> None:
        if isinstance(info[1], FileNotFoundError):
            return  # gone already (another grader removing the same leftover)
        with contextlib.suppress(OSError):
            if failed != path:  # never the folder the tree is in (/tmp)
                os.chmod(os.path.dirname(failed), 0o700)
            os.chmod(failed, 0o700)
            function(failed)

    shutil.rmtree(path, onerror=make_writable)
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


def _hidden_paths() -> list[str]:
    """Directories student code must not read: the grader package and the assignments beside or in it."""
    package = os.path.dirname(os.path.realpath(__file__))  # the folder of this module's package
    for _ in range(str(__package__).count(".")):  # up from it to the top package (grader/), however deep
        package = os.path.dirname(package)
    return [package, os.path.join(os.path.dirname(package), "reference")]


def _decide(settings: _Settings, scratch_base: str, reference_modules: int) -> tuple[kernel.Plan, tuple[Layer, ...]]:
    """Find the layers this system allows, by applying them in throw-away children; describe them."""
    # As root: the sandbox user where this user namespace maps it, else another uid it maps, else none.
    switch = identity.choose_switch(settings.user, identity.read_id_maps()) if settings.user is not None else None
    plan = kernel.candidate_plan(switch.uid if switch else None, switch.gid if switch else None,
                                  settings.limits.scratch_bytes, settings.without, scratch_base, _hidden_paths())
    details = dict(plan.details)
    if switch is not None and switch.uid is None:
        details[kernel.UNPRIVILEGED_USER] = switch.detail
    unreadable = None
    for _ in range(_PROBE_ATTEMPTS):
        failed, unreadable = _probe(plan, settings, scratch_base)
        if failed is not None:
            layer, message = failed
            plan = _without_layer(plan, layer, settings.without)
            details[layer] = (f"stays root (without capabilities), because {message.removeprefix(layer + ': ')}"
                              if layer == kernel.UNPRIVILEGED_USER and plan.root else f"not available here: {message}")
            continue
        if unreadable is not None and kernel.UNPRIVILEGED_USER in plan.layers:
            reason = f"uid {plan.uid} cannot read {unreadable}"
            if not plan.keep_read_search and kernel.LANDLOCK_FILES in plan.layers and kernel.can_keep_read_search():
                # Landlock already limits reads to the installation: let the user read it.
                plan = dataclasses.replace(plan, keep_read_search=True,
                                           layers=plan.layers - {kernel.NO_CAPABILITIES})
                details[kernel.NO_CAPABILITIES] = (f"keeps CAP_DAC_READ_SEARCH only, because {reason}; "
                                                    "Landlock limits what it can read")
            else:
                plan = _without_layer(plan, kernel.UNPRIVILEGED_USER, settings.without)
                plan = dataclasses.replace(plan, keep_read_search=False,
                                           layers=plan.layers | ({kernel.NO_CAPABILITIES} - settings.without))
                details[kernel.UNPRIVILEGED_USER] = (f"stays root (without capabilities), because {reason}: "
                                                      "install Python where that user can read it")
                details.pop(kernel.NO_CAPABILITIES, None)
            continue
        break
    else:  # never settled: a bug, and no reason to run student code with fewer layers than it could
        last = f"uid {plan.uid} cannot read {unreadable}" if failed is None else \
            failed[1] if failed[1].startswith(failed[0]) else f"{failed[0]}: {failed[1]}"
        raise startup.StartFailure("settle the layers", f"the probe still failed after {_PROBE_ATTEMPTS} attempts: {last}")
    return plan, _describe(plan, settings, details, reference_modules, switch.detail if switch else "")


def _without_layer(plan: kernel.Plan, layer: str, without: frozenset[str]) -> kernel.Plan:
    """Return the plan without a layer that failed, and without the layers that need it."""
    added = set()
    if layer == kernel.SECCOMP and kernel.NETWORK_NAMESPACE not in without:
        added.add(kernel.NETWORK_NAMESPACE)  # only left out because seccomp denied sockets
    removed = {layer}
    if layer in kernel.LANDLOCK:
        removed |= set(kernel.LANDLOCK)
    if layer == kernel.USER_NAMESPACE and not plan.root:
        removed |= {kernel.NETWORK_NAMESPACE, kernel.IPC_NAMESPACE, kernel.SCRATCH_TMPFS}
    ruleset_fd = plan.ruleset_fd
    if kernel.LANDLOCK_FILES in removed and ruleset_fd >= 0:
        os.close(ruleset_fd)
        ruleset_fd = -1
    keep_read_search = plan.keep_read_search and kernel.LANDLOCK_FILES not in removed
    uid, gid = plan.uid, plan.gid
    if layer == kernel.UNPRIVILEGED_USER and plan.root:
        uid, gid = os.getuid(), os.getgid()  # what the scratch folder and its tmpfs then belong to
    return dataclasses.replace(plan, layers=(plan.layers | added) - removed, ruleset_fd=ruleset_fd,
                               keep_read_search=keep_read_search, uid=uid, gid=gid)


def _probe(plan: kernel.Plan, settings: _Settings, scratch_base: str) -> tuple[tuple[str, str] | None, str | None]:
    """Apply the plan in a throw-away child and check that it holds.

    Returns:
        (layer, message) for the first layer that failed or did not hold, else None; and a
        path the child could not read that it must (the Python installation), else None.
    """
    try:
        scratch = _make_scratch(scratch_base, plan)
    except LayerError as error:
        return (error.layer, str(error)), None
    try:
        with startup.step("make the probe's pipe"):
            read_fd, write_fd = os.pipe()
        with startup.step("fork the probe child"):
            pid = os.fork()
    except startup.StartFailure:
        _remove_tree(scratch)
        raise
    if pid == 0:
        status = _SETUP_FAILED
        try:
            os.close(read_fd)
            os.setsid()
            report: dict[str, Any]
            try:
                kernel.confine(plan, scratch)
                report = _self_check(plan)
            except LayerError as error:
                report = {"failed": [error.layer, str(error)[:_MESSAGE_CHARS]]}
            write_frame(write_fd, encode(report))
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    answer: Any = None
    try:
        frame = read_frame(read_fd, _REPLY_SLACK_BYTES)
        answer = decode(frame, max_bytes=_REPLY_SLACK_BYTES) if frame is not None else None
    except DecodeError:
        answer = None
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
        _remove_tree(scratch)
    if type(answer) is not dict:  # killed while confining: the seccomp filter is the likely cause
        return (kernel.SECCOMP, "the probe died while applying the layers"), None
    failed = answer.get("failed")
    if failed is not None:
        return (str(failed[0]), str(failed[1])), None
    unreadable = answer.get("unreadable")
    return None, str(unreadable) if unreadable is not None else None


def _self_check(plan: kernel.Plan) -> dict[str, Any]:
    """In a confined probe: check each layer bites, and that the Python installation is readable."""
    layers = plan.layers
    if kernel.UNPRIVILEGED_USER in layers and os.getuid() == 0:
        return {"failed": [kernel.UNPRIVILEGED_USER, "still root after the switch"]}
    expected_capabilities = 1 << 2 if plan.keep_read_search else 0  # CAP_DAC_READ_SEARCH
    if (kernel.NO_CAPABILITIES in layers or plan.keep_read_search) and \
            kernel.effective_capabilities() != expected_capabilities:
        return {"failed": [kernel.NO_CAPABILITIES, "capabilities remain after dropping them"]}
    if kernel.LANDLOCK_FILES in layers:
        try:
            os.close(os.open(os.path.realpath(__file__), os.O_RDONLY))
            return {"failed": [kernel.LANDLOCK_FILES, "the grader's own files stayed readable"]}
        except PermissionError:
            pass
    if kernel.SECCOMP in layers and ctypes.CDLL(None).socket(2, 1, 0) != -1:  # AF_INET, SOCK_STREAM
        return {"failed": [kernel.SECCOMP, "a socket could still be created"]}
    needed = [os.path.dirname(os.__file__)]
    numpy_file = getattr(sys.modules.get("numpy"), "__file__", None)
    if numpy_file:
        needed.append(os.path.dirname(numpy_file))
    for folder in needed:
        try:
            os.listdir(folder)
        except OSError:
            return {"unreadable": folder}
    return {"unreadable": None}


def _describe(plan: kernel.Plan, settings: _Settings, details: dict[str, str], reference_modules: int,
              switch: str) -> tuple[Layer, ...]:
    """Return the worker's layers, in force or not, with a line each (`switch`: the user root's children become)."""
    limits = settings.limits
    in_force = set(plan.layers) | {"closed-fds", "no-new-privileges"}
    in_force |= {"clean-environment", "rlimits"} - settings.without
    if reference_modules == 0:
        in_force.add("clean-worker")
    else:
        details["clean-worker"] = (f"started after reference code was loaded ({reference_modules} modules dropped, "
                                   "objects may remain)")
    user = f"uid {plan.uid}, gid {plan.gid}"
    described = {
        "clean-worker": "forked before any reference code was loaded; one fresh child per submission",
        "closed-fds": "the child keeps only /dev/null, its output and its result pipe",
        "clean-environment": "no environment variables from the grader; HOME and TMPDIR are the scratch directory",
        "rlimits": f"address space +{limits.memory_bytes >> 20} MB, CPU {math.ceil(limits.wall_seconds) + 1} s, "
                   f"files {limits.output_bytes >> 10} KB, {_OPEN_FILES} descriptors, processes, no core",
        kernel.USER_NAMESPACE: "its own user namespace, so an ordinary user can create the others",
        kernel.NETWORK_NAMESPACE: "an empty network namespace: no interface but a loopback that is down",
        kernel.IPC_NAMESPACE: "its own System V IPC and POSIX message queues",
        kernel.SCRATCH_TMPFS: f"scratch is a private tmpfs of {limits.scratch_bytes >> 20} MB and "
                               f"{kernel.TMPFS_INODES} files, gone with the child",
        kernel.UNPRIVILEGED_USER: switch if plan.root else f"the grader's own user ({user}), not root",
        kernel.NO_CAPABILITIES: "empty capability and bounding sets",
        "no-new-privileges": "exec cannot grant privileges (setuid bits, file capabilities)",
        kernel.LANDLOCK_FILES: f"Landlock ABI {plan.landlock_abi}: reads only the Python installation and system "
                                "libraries (not the grader or its assignments), writes only the scratch directory",
        kernel.LANDLOCK_NETWORK: "no TCP bind or connect",
        kernel.LANDLOCK_SCOPE: "no signals or abstract UNIX sockets outside the sandbox",
        kernel.SECCOMP: f"{kernel.seccomp_architecture()} filter: {len(kernel.DENIED)} system calls denied "
                         "(ptrace, process_vm_*, mount, socket, fork, exec, ...), "
                         f"{len(kernel.RESTRICTED)} restricted (threads only; signals and limits only to itself)",
    }
    for name in settings.without:
        details[name] = "left out on request"
    layers = []
    for name in LAYERS:
        if name in ("non-dumpable-grader", "strict-decoder"):
            continue  # the grader's own, added by Worker
        on = name in in_force
        detail = described[name] if on else details.get(name, "not available here")
        if name == kernel.UNPRIVILEGED_USER and on and plan.keep_read_search:
            detail += f"; {details.get(kernel.NO_CAPABILITIES, 'keeps CAP_DAC_READ_SEARCH')}"
        layers.append(Layer(name, on, detail))
    return tuple(layers)


def _make_scratch(scratch_base: str, plan: kernel.Plan) -> str:
    """Create a fresh scratch directory for one child, owned by the user the child runs as.

    With a scratch tmpfs, each child mounts its own over the directory, in its own mount
    namespace, before any student code runs: the directory itself stays empty, and is reused.

    Raises:
        LayerError: The folder cannot be given to the unprivileged user (the uid is not mapped here).
        StartFailure: The folder cannot be made.
    """
    scratch = _scratch_path(scratch_base)
    if kernel.SCRATCH_TMPFS in plan.layers and os.path.isdir(scratch) and not os.path.islink(scratch):
        return scratch
    if os.path.lexists(scratch):
        _remove_tree(scratch)
    with startup.step(f"make the scratch folder {scratch}"):
        os.mkdir(scratch, 0o700)
    if plan.root and kernel.UNPRIVILEGED_USER in plan.layers:
        try:
            os.chmod(scratch_base, 0o711)  # the user may pass through the base, not list it
            os.chown(scratch, plan.uid, plan.gid)
        except OSError as error:
            _remove_tree(scratch)
            raise LayerError(kernel.UNPRIVILEGED_USER,
                                     f"chown scratch to {plan.uid}: {error.strerror}") from None
    return scratch


def _scratch_path(scratch_base: str) -> str:
    return os.path.join(scratch_base, "job")


def _remove_scratch(scratch: str, plan: kernel.Plan) -> None:
    """Remove what a child wrote in its scratch directory (nothing, with a scratch tmpfs: see _make_scratch)."""
    if kernel.SCRATCH_TMPFS not in plan.layers:
        _remove_tree(scratch)


def _run_in_child(jobs: Sequence[Job], settings: _Settings, plan: kernel.Plan,
                  scratch_base: str) -> Iterator[tuple[_ChildReport, bytes]]:
    """Fork a child for the jobs, collect its messages within the limits, and clean up.

    Yields:
        A report and the messages of each job the child finished, then of the job that ended
        the child, if one did: at least one job, and all of them unless one ended the child.
        When the child finished them all, they come before it is reaped, so that the grader
        goes on while the child exits.
    """
    limits = settings.limits
    scratch = _make_scratch(scratch_base, plan)
    # Anonymous files, one per job: the child has no path to them, and the worker keeps its own descriptors.
    output_fds = [os.memfd_create("grader-output", os.MFD_CLOEXEC) for _ in jobs]
    read_fd, write_fd = os.pipe()
    worker_pid = os.getpid()
    pid = os.fork()
    if pid == 0:
        _child_main(jobs, settings, plan, write_fd, output_fds, scratch, worker_pid)
    os.close(write_fd)

    def report(index: int, stop: str, death: RunFailure | None, seconds: float) -> _ChildReport:
        output_size = os.fstat(output_fds[index]).st_size
        output = os.pread(output_fds[index], 4 * _OUTPUT_CHARS, 0).decode("utf-8", "replace")[:_OUTPUT_CHARS]
        return _ChildReport(stop, death, output_size > limits.output_bytes, output, seconds)

    reaped: tuple[int, resource.struct_rusage] | None = None
    try:
        try:
            reading = _read_child(read_fd, pid, len(jobs), limits.wall_seconds + _GRACE_SECONDS, limits.result_bytes)
        finally:
            os.close(read_fd)
        if len(reading.finished) < len(jobs):
            reaped = _reap(pid)  # a job ended the child: stop what is left of it first
        for index, (data, seconds) in enumerate(reading.finished):
            yield report(index, "done", None, seconds), data
        if reaped is not None:
            status, usage = reaped
            clean = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
            death = None if clean else _death_failure(status, usage, limits)
            rest = reading.rest[: limits.result_bytes + 1]
            yield report(len(reading.finished), reading.stop, death, reading.seconds), rest
    finally:
        if reaped is None:
            _reap(pid)
        _remove_scratch(scratch, plan)
        for fd in output_fds:
            os.close(fd)


def _reap(pid: int) -> tuple[int, resource.struct_rusage]:
    """Kill a child with its process group (the processes the student started die too); return its status."""
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError):
            kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:  # the student's processes, if any
            pass
    return status, usage


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
        death = report.death or RunFailure("crashed", "exited with status 0 before returning (os._exit or the like)",
                                           None, None)
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


@dataclass(frozen=True, slots=True)
class _Reading:
    """What the worker read from a child's result pipe."""

    finished: list[tuple[bytes, float]]  # the messages and seconds of each job the child ended with a marker
    rest: bytes  # the messages after the last marker: those of the job that ended the child
    stop: str  # why reading stopped: "done", "timeout" or "too-large"
    seconds: float  # time since the last marker


def _read_child(fd: int, pid: int, job_count: int, job_seconds: float, max_bytes: int) -> _Reading:
    """Read the child's pipe until it finished every job, exited, ran out of time or sent too much.

    The child ends each job's messages with an empty frame (a marker); each job has
    `job_seconds` and `max_bytes` from the previous marker on. The worker sleeps until the
    child exits, waking every 50 ms to empty the pipe (made large, so that the child seldom
    waits) and see which jobs ended: a wake-up or two per child rather than one per message.
    Without pidfds (Linux before 5.3) it wakes on every message instead.
    """
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    os.set_blocking(fd, False)
    poller = select.poll()
    # Processes the student started may keep the pipe open after the child exited, so the
    # child's exit ends the reading too.
    exit_fd = None
    with contextlib.suppress(OSError):
        exit_fd = os.pidfd_open(pid)
    poller.register(fd if exit_fd is None else exit_fd, select.POLLIN)
    data = bytearray()
    finished: list[tuple[bytes, float]] = []
    job_start = scan = 0  # offsets of the running job's first message and of the next frame header
    job_started = time.monotonic()
    deadline = job_started + job_seconds

    def stop(why: str) -> _Reading:
        return _Reading(finished, bytes(data[job_start:]), why, time.monotonic() - job_started)

    try:
        while (remaining := deadline - time.monotonic()) > 0:
            wait = remaining if exit_fd is None else min(remaining, _DRAIN_SECONDS)
            exited = exit_fd is not None and bool(poller.poll(math.ceil(wait * 1000)))
            if exit_fd is None:
                poller.poll(math.ceil(wait * 1000))
            closed = False
            while not closed:  # empty the pipe
                try:
                    chunk = os.read(fd, 1 << 20)
                except BlockingIOError:
                    break
                closed = not chunk
                data += chunk
                while scan + _FRAME_HEADER_BYTES <= len(data):
                    size = int.from_bytes(data[scan : scan + _FRAME_HEADER_BYTES], "big")
                    if size == 0:  # a marker: the job is finished, the next one starts
                        now = time.monotonic()
                        finished.append((bytes(data[job_start:scan]), now - job_started))
                        scan = job_start = scan + _FRAME_HEADER_BYTES
                        job_started, deadline = now, now + job_seconds
                        if len(finished) == job_count:
                            return stop("done")
                    elif scan + _FRAME_HEADER_BYTES + size <= len(data):
                        scan += _FRAME_HEADER_BYTES + size
                    else:
                        break  # the rest of the frame is still on its way
                if len(data) - job_start > max_bytes:
                    return stop("too-large")
            if exited:
                return stop("done")
            if closed:
                if exit_fd is not None:
                    # Let a child that closed its pipe exit by itself, so its status tells why.
                    poller.poll(math.ceil(min(remaining, _EXIT_WAIT_SECONDS) * 1000))
                return stop("done")
        return stop("timeout")
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
        code = os.waitstatus_to_exitcode(status)
        message = f"exited with status {code} before finishing"
        if code == _REPORTING_FAILED:
            message = ("could not report its results: the code broke the sandbox's reporting "
                       "(replaced built-ins or numpy, closed or wrote to its result channel)")
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


def _child_main(jobs: Sequence[Job], settings: _Settings, plan: kernel.Plan, result_fd: int,
                output_fds: Sequence[int], scratch: str, worker_pid: int,
                exit: Callable[[int], NoReturn] = os._exit) -> NoReturn:
    """Isolate this freshly forked child, run the jobs, send their messages and exit.

    Each job's messages end with an empty frame, a marker, unless the job ended the child
    (a limit was hit): then the child exits and the worker gives the other jobs a fresh one.
    `exit` is bound when this module loads: student code that replaces os._exit cannot
    make the child return into the worker's loop.
    """
    status = _REPORTING_FAILED  # the worker reports "crashed" unless everything below completes

    def send(tag: str, body: Any) -> None:
        write_frame(result_fd, encode({tag: body}, max_bytes=settings.limits.result_bytes))

    try:
        try:
            _isolate(settings, plan, result_fd, output_fds, scratch, len(jobs), worker_pid)
        except (LayerError, OSError) as error:
            # Fail closed: the student's code never runs with fewer layers than reported.
            message = f"the sandbox could not be set up: {error}"[:_MESSAGE_CHARS]
            send("failure", _failure_to_wire(RunFailure("crashed", message, None, None)))
            status = _SETUP_FAILED
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


def _isolate(settings: _Settings, plan: kernel.Plan, result_fd: int, output_fds: Sequence[int], scratch: str,
             job_count: int, worker_pid: int) -> None:
    """Give the child its own process group, streams, resource limits and layers (the worker cleaned the environment)."""
    limits = settings.limits
    os.setsid()  # its own process group, which the worker kills as a whole
    # The alarm only interrupts student code (see _alarm_enabled), never our reporting.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
    keep = {0, 1, 2, result_fd, *output_fds} | ({plan.ruleset_fd} if plan.ruleset_fd >= 0 else set())
    _close_fds_except(keep)  # stdin is the worker's /dev/null
    os.dup2(output_fds[0], 1)
    # Line-buffered, so output printed before a crash is already in the file.
    sys.stdout = sys.stderr = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
    if "rlimits" not in settings.without:
        with open("/proc/self/statm") as statm:
            virtual_bytes = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _lower_limit(resource.RLIMIT_AS, virtual_bytes + limits.memory_bytes)
        # Room for every job; _start_job lowers the soft limit to the running job's share.
        _lower_limit(resource.RLIMIT_CPU, job_count * _cpu_seconds(limits) + 1)
        _lower_limit(resource.RLIMIT_FSIZE, limits.output_bytes + 1)  # more than the limit is detectable
        _lower_limit(resource.RLIMIT_NOFILE, _OPEN_FILES)
        _lower_limit(resource.RLIMIT_CORE, 0)
        _lower_limit(resource.RLIMIT_NPROC, _process_allowance())
    # Namespaces, user, capabilities, death with the worker (asked after the change of user, which makes
    # the kernel forget it), Landlock, seccomp; then chdir(scratch).
    kernel.confine(plan, scratch, worker_pid)


def _cpu_seconds(limits: Limits) -> int:
    return math.ceil(limits.wall_seconds) + 1


def _start_job(settings: _Settings, output_fd: int) -> None:
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
        soft = math.ceil(usage.ru_utime + usage.ru_stime) + _cpu_seconds(settings.limits)
        resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard - 1), hard))  # SIGXCPU before SIGKILL
    # Installing the handler anew drops an alarm left pending by the previous job.
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, settings.limits.wall_seconds)


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


def _run_job(job: Job, limits: Limits, send: Callable[[str, Any], None]) -> bool:
    """Execute the submission and call its function, sending a message per finished call.

    Returns:
        Whether the child may run another job: not after a limit was hit, which may leave
        the interpreter in any state.
    """
    call_index: int | None = None
    try:
        with _alarm_enabled():
            function = _load_submission(job).get(job.function)
        if not callable(function):
            message = f"the code defines no function named {job.function}"
            send("failure", _failure_to_wire(RunFailure("function-missing", message, None, None)))
            return True
        pristine = _pristine_fingerprints(job)
        for call_index, arguments in enumerate(job.calls):
            # Arguments travel back only when the call changed them: most calls don't, and this halves
            # what the grader decodes. (A student can only hide a mutation from their own grade.)
            before = pristine[call_index] if pristine else _fingerprint(arguments)
            try:
                with _alarm_enabled():
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
                send("call", _call_to_wire(outcome))
            except TooLarge:
                message = f"the results are larger than {limits.result_bytes} bytes"
                send("failure", _failure_to_wire(RunFailure("bad-result", message, None, call_index)))
                return True
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


def _fingerprint_calls(job: Job) -> None:
    if job.calls_key is not None and not _pristine_fingerprints(job):
        _PRISTINE[job.calls_key] = (job.calls, tuple(_fingerprint(arguments) for arguments in job.calls))


def _pristine_fingerprints(job: Job) -> tuple[Any, ...]:
    """The fingerprints of the job's calls as sent, when the worker took them (else empty)."""
    kept = _PRISTINE.get(job.calls_key) if job.calls_key is not None else None
    return kept[1] if kept is not None and kept[0] is job.calls else ()


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
    "calls": lambda value: value is None or type(value) is list and all(type(arguments) is tuple for arguments in value),
    "served_modules": lambda value: type(value) is dict and all(type(source) is str for source in value.values()),
    "calls_key": lambda value: value is None or type(value) is str,
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


_LAYER: _Schema = {
    "name": lambda value: type(value) is str and value in LAYERS,
    "in_force": _of_type(bool),
    "detail": _text(_MESSAGE_CHARS),
}


def _checked(value: Any, record: str, schema: _Schema) -> dict[str, Any]:
    """Return `value` after checking it is a dict with exactly the schema's valid fields."""
    if type(value) is not dict or value.keys() != schema.keys():
        raise DecodeError(f"malformed {record}: expected the fields {', '.join(schema)}")
    invalid = [name for name, check in schema.items() if not check(value[name])]
    if invalid:
        raise DecodeError(f"malformed {record}: invalid {', '.join(invalid)}")
    return value


def _job_to_wire(job: Job, send_calls: bool = True) -> dict[str, Any]:
    return {
        "source": job.source,
        "filename": job.filename,
        "function": job.function,
        "calls": list(job.calls) if send_calls else None,
        "served_modules": dict(job.served_modules),
        "calls_key": job.calls_key,
    }


def _job_from_wire(value: Any, known_calls: dict[str, tuple[tuple[Any, ...], ...]]) -> Job:
    """Rebuild a job; calls sent under a key are remembered, and a job naming only the key gets them back."""
    fields = _checked(value, "job", _JOB)
    key = fields["calls_key"]
    if fields["calls"] is not None:
        calls = tuple(fields["calls"])
        if key is not None:
            known_calls[key] = calls
    elif key in known_calls:
        calls = known_calls[key]
    else:
        raise DecodeError("a job names calls this worker was never sent")
    return Job(fields["source"], fields["filename"], fields["function"], calls, fields["served_modules"], key)


def _jobs_from_wire(value: Any, known_calls: dict[str, tuple[tuple[Any, ...], ...]]) -> tuple[Job, ...]:
    if type(value) is not dict or value.keys() != {"jobs"} or type(value["jobs"]) is not list or not value["jobs"]:
        raise DecodeError("malformed request: expected a non-empty list of jobs")
    return tuple(_job_from_wire(job, known_calls) for job in value["jobs"])


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


def _layers_to_wire(layers: tuple[Layer, ...]) -> dict[str, Any]:
    return {"schema": _SCHEMA, "layers": [{"name": layer.name, "in_force": layer.in_force,
                                           "detail": layer.detail[:_MESSAGE_CHARS]} for layer in layers]}


def _start_failure_to_wire(reason: str) -> dict[str, Any]:
    return {"schema": _SCHEMA, "failed": reason[:_MESSAGE_CHARS]}


def _start_report_from_wire(value: Any) -> tuple[tuple[Layer, ...], str | None]:
    """The worker's first message: its layers, or why it could not start (then no layers)."""
    if type(value) is dict and value.keys() == {"schema", "failed"} and value["schema"] == _SCHEMA \
            and _text(_MESSAGE_CHARS)(value["failed"]):
        return (), value["failed"]
    if type(value) is not dict or value.keys() != {"schema", "layers"} or value["schema"] != _SCHEMA \
            or type(value["layers"]) is not list:
        raise DecodeError("malformed layer report")
    layers = []
    for item in value["layers"]:
        fields = _checked(item, "layer", _LAYER)
        layers.append(Layer(fields["name"], fields["in_force"], fields["detail"]))
    return tuple(layers), None
