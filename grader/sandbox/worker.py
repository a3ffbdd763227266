"""The worker: a process forked from the grader before any reference code is loaded, that forks the children.

Once started it cleans itself (streams, inherited descriptors, instructor modules,
environment), decides with the probe which layers this system allows and reports them,
then serves the grader's jobs: per submission, one child (grader.sandbox.child), whose
messages it collects within the time and size limits and passes on unread, with a report
of how the child ended.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import importlib
import math
import os
import resource
import select
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from grader.records import Job, Limits, RunFailure
from grader.sandbox import kernel, probe, startup
from grader.sandbox.child import child_main, compile_served_modules, fingerprint_calls
from grader.sandbox.codec import decode, encode, read_frame, write_frame
from grader.sandbox.descriptors import PIPE_BYTES, close_fds_except
from grader.sandbox.limits import limit_message
from grader.sandbox.protocol import (
    FRAME_HEADER_BYTES,
    JOB_MAX_BYTES,
    OUTPUT_CHARS,
    REPORTING_FAILED,
    ChildReport,
    jobs_from_wire,
    layers_to_wire,
    report_to_wire,
    start_failure_to_wire,
)
from grader.sandbox.scratch import claim, make_scratch, remove_scratch, remove_tree, scratch_path, scratch_prefix
from grader.sandbox.settings import Settings

_GRACE_SECONDS = 1.0  # the worker's deadline is this much after the child's own alarm
_EXIT_WAIT_SECONDS = 0.5  # how long a child that closed its result pipe has to exit by itself
_PR_SET_CHILD_SUBREAPER = 36
# The private package names grader.assignment.loader loads instructor modules under (REFERENCE_MODULE_PREFIX).
_REFERENCE_MODULE_PREFIX = "_grader_assignment_"


def worker_main(settings: Settings, job_fd: int, reply_fd: int) -> None:
    """Start up, report the layers (or the step that failed), then serve jobs until the grader closes the job pipe."""
    scratch_base = ""
    try:
        try:
            scratch_base, reference_modules = _prepare_worker(settings, job_fd, reply_fd)
            plan, layers = probe.decide(settings, scratch_base, reference_modules)
            plan = kernel.drop_bounding_set(plan)
        except Exception as error:  # whatever stopped the start, the grader hears which step and why
            write_frame(reply_fd, encode(start_failure_to_wire(startup.failure_text(error))))
            return
        write_frame(reply_fd, encode(layers_to_wire(layers)))
        known_calls: dict[str, tuple[tuple[Any, ...], ...]] = {}  # calls_key → calls, sent once by the grader
        while (frame := read_frame(job_fd, JOB_MAX_BYTES)) is not None:
            jobs = jobs_from_wire(decode(frame, max_bytes=JOB_MAX_BYTES), known_calls)
            for job in jobs:
                compile_served_modules(job)
                fingerprint_calls(job)
            # A fresh child takes over the jobs after one that ended its child (see Worker.run_all).
            done = 0
            while done < len(jobs):
                for report, data in _run_in_child(jobs[done:], settings, plan, scratch_base):
                    # The child's messages pass through unread: the grader decodes them, strictly, once.
                    write_frame(reply_fd, encode(report_to_wire(report)))
                    write_frame(reply_fd, data)
                    done += 1
    finally:
        if scratch_base:
            remove_tree(scratch_base)


def _prepare_worker(settings: Settings, job_fd: int, reply_fd: int) -> tuple[str, int]:
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
        close_fds_except({0, 1, 2, job_fd, reply_fd})
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
        scratch_base = tempfile.mkdtemp(prefix=scratch_prefix(os.getpid()))
        claim(scratch_base)  # held as long as this worker lives: other graders leave the folder alone
    if "clean-environment" not in settings.without:
        # The grader's environment may hold tokens (CI) that the student's output must never show:
        # the worker drops it once, and every child inherits what is left.
        for name in list(os.environ):  # os.environ.clear() takes 3 times as long
            del os.environ[name]
        _erase_initial_environment()
        scratch = scratch_path(scratch_base)
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


def _run_in_child(jobs: Sequence[Job], settings: Settings, plan: kernel.Plan,
                  scratch_base: str) -> Iterator[tuple[ChildReport, bytes]]:
    """Fork a child for the jobs, collect its messages within the limits, and clean up.

    Yields:
        A report and the messages of each job the child finished, then of the job that ended
        the child, if one did: at least one job, and all of them unless one ended the child.
        When the child finished them all, they come before it is reaped, so that the grader
        goes on while the child exits.
    """
    limits = settings.limits
    scratch = make_scratch(scratch_base, plan)
    # Anonymous files, one per job: the child has no path to them, and the worker keeps its own descriptors.
    output_fds = [os.memfd_create("grader-output", os.MFD_CLOEXEC) for _ in jobs]
    read_fd, write_fd = os.pipe()
    worker_pid = os.getpid()
    pid = os.fork()
    if pid == 0:
        child_main(jobs, settings, plan, write_fd, output_fds, scratch, worker_pid)
    os.close(write_fd)

    def report(index: int, stop: str, death: RunFailure | None, seconds: float) -> ChildReport:
        output_size = os.fstat(output_fds[index]).st_size
        output = os.pread(output_fds[index], 4 * OUTPUT_CHARS, 0).decode("utf-8", "replace")[:OUTPUT_CHARS]
        return ChildReport(stop, death, output_size > limits.output_bytes, output, seconds)

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
        remove_scratch(scratch, plan)
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
class _Reading:
    """What the worker read from a child's result pipe."""

    finished: list[tuple[bytes, float]]  # the messages and seconds of each job the child ended with a marker
    rest: bytes  # the messages after the last marker: those of the job that ended the child
    stop: str  # why reading stopped: "done", "timeout" or "too-large"
    seconds: float  # time since the last marker


def _read_child(fd: int, pid: int, job_count: int, job_seconds: float, max_bytes: int) -> _Reading:
    """Read the child's pipe until it finished every job, exited, ran out of time or sent too much.

    The child ends each job's messages with an empty frame (a marker); each job has
    `job_seconds` and `max_bytes` from the previous marker on. The worker wakes when data
    arrives or the child exits. (Waking only every 50 ms to empty the pipe saved a few wake-ups
    but stalled a child whose results outgrew the pipe for the rest of those 50 ms: 40 ms a
    submission once an exercise returned 1.5 MB.)
    """
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    os.set_blocking(fd, False)
    poller = select.poll()
    # Processes the student started may keep the pipe open after the child exited, so the
    # child's exit ends the reading too.
    exit_fd = None
    with contextlib.suppress(OSError):
        exit_fd = os.pidfd_open(pid)
    poller.register(fd, select.POLLIN)
    if exit_fd is not None:
        poller.register(exit_fd, select.POLLIN)
    data = bytearray()
    finished: list[tuple[bytes, float]] = []
    job_start = scan = 0  # offsets of the running job's first message and of the next frame header
    job_started = time.monotonic()
    deadline = job_started + job_seconds

    def stop(why: str) -> _Reading:
        return _Reading(finished, bytes(data[job_start:]), why, time.monotonic() - job_started)

    try:
        while (remaining := deadline - time.monotonic()) > 0:
            events = poller.poll(math.ceil(remaining * 1000))
            exited = exit_fd is not None and any(ready == exit_fd for ready, _ in events)
            closed = False
            while not closed:  # empty the pipe
                try:
                    chunk = os.read(fd, 1 << 20)
                except BlockingIOError:
                    break
                closed = not chunk
                data += chunk
                while scan + FRAME_HEADER_BYTES <= len(data):
                    size = int.from_bytes(data[scan : scan + FRAME_HEADER_BYTES], "big")
                    if size == 0:  # a marker: the job is finished, the next one starts
                        now = time.monotonic()
                        finished.append((bytes(data[job_start:scan]), now - job_started))
                        scan = job_start = scan + FRAME_HEADER_BYTES
                        job_started, deadline = now, now + job_seconds
                        if len(finished) == job_count:
                            return stop("done")
                    elif scan + FRAME_HEADER_BYTES + size <= len(data):
                        scan += FRAME_HEADER_BYTES + size
                    else:
                        break  # the rest of the frame is still on its way
                if len(data) - job_start > max_bytes:
                    return stop("too-large")
            if exited:
                return stop("done")
            if closed:
                if exit_fd is not None:
                    # Let a child that closed its pipe exit by itself, so its status tells why.
                    poller.unregister(fd)  # a closed pipe is always ready: only the exit may wake
                    poller.poll(math.ceil(min(remaining, _EXIT_WAIT_SECONDS) * 1000))
                return stop("done")
        return stop("timeout")
    finally:
        if exit_fd is not None:
            os.close(exit_fd)


def _death_failure(status: int, usage: resource.struct_rusage, limits: Limits) -> RunFailure:
    """Explain a child that ended without reporting on every call."""
    if not os.WIFSIGNALED(status):
        code = os.waitstatus_to_exitcode(status)
        message = f"exited with status {code} before finishing"
        if code == REPORTING_FAILED:
            message = ("could not report its results: the code broke the sandbox's reporting "
                       "(replaced built-ins or numpy, closed or wrote to its result channel)")
        return RunFailure("crashed", message, None, None)
    signum = os.WTERMSIG(status)
    if signum == signal.SIGXCPU:
        return RunFailure("timeout", limit_message("timeout", limits), None, None)
    # A process near its address-space limit dies by these when a failed allocation is
    # not reported as MemoryError (C code, stack growth, the kernel's OOM killer).
    memory_signals = {signal.SIGKILL, signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT}
    if signum in memory_signals and usage.ru_maxrss * 1024 >= limits.memory_bytes // 2:
        return RunFailure("memory-limit", limit_message("memory-limit", limits), None, None)
    description = signal.strsignal(signum) or "unknown"
    return RunFailure("crashed", f"was killed by signal {signum} ({description})", None, None)
