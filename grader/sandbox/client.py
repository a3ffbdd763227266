"""The grader's side of the sandbox: `Worker` starts the worker process, sends it jobs and reads the outcomes.

The worker is forked first, before any reference code is loaded (grader.sandbox.worker);
its first message is its layer report, read when first needed (`Worker.layers`). Jobs are
submitted and collected in order, so that the grader works while a child runs; each child's
messages are parsed here, strictly, once (grader.sandbox.protocol).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import signal
import time
import weakref
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from grader.errors import DecodeError, SandboxError, WorkerStartError
from grader.lifetime import die_with_parent
from grader.records import CallOutcome, Job, Layer, Limits, RunFailure, RunOutcome
from grader.sandbox import identity, kernel, startup
from grader.sandbox.codec import decode, encode, read_frame, write_frame
from grader.sandbox.descriptors import pipe
from grader.sandbox.layers import LAYERS, OPTIONAL_LAYERS, format_layers
from grader.sandbox.limits import limit_message
from grader.sandbox.protocol import (
    JOB_MAX_BYTES,
    REPLY_SLACK_BYTES,
    ChildReport,
    call_from_wire,
    failure_from_wire,
    frames,
    job_to_wire,
    report_from_wire,
    start_report_from_wire,
)
from grader.sandbox.scratch import remove_leftovers, remove_scratch_of
from grader.sandbox.settings import Settings
from grader.sandbox.worker import worker_main


@dataclass(slots=True)
class Submitted:
    """Jobs sent to the worker (see Worker.submit), and the replies read so far."""

    jobs: tuple[Job, ...]
    replies: list[tuple[bytes, bytes]] = dataclasses.field(default_factory=list)


class Worker:
    """A warm process that forks one isolated child per submission; create it with `start`."""

    def __init__(self, pid: int, job_fd: int, reply_fd: int, limits: Limits,
                 grader_layers: tuple[Layer, ...] = ()) -> None:
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
        settings = Settings(limits, identity.requested_user(user) if os.geteuid() == 0 else None, frozenset(without))
        remove_leftovers()
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
                job_read, job_write = pipe()
                reply_read, reply_write = pipe()
            parent_pid = os.getpid()
            with startup.step("fork the worker"):
                pid = os.fork()
        except startup.StartFailure as failure:
            raise WorkerStartError(str(failure), _unstarted(str(failure), grader_layers)) from failure
        if pid == 0:
            status = 1
            try:
                die_with_parent(parent_pid)
                worker_main(settings, job_read, reply_write)
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
                frame = read_frame(self._reply_fd, REPLY_SLACK_BYTES)
                reason = f"it died ({startup.exit_text_of(self.pid)})" if frame is None else None
                if frame is not None:
                    layers, reason = start_report_from_wire(decode(frame, max_bytes=REPLY_SLACK_BYTES))
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
            wire.append(job_to_wire(job, job.calls_key is None or job.calls_key not in self._sent_calls))
            if job.calls_key is not None:
                self._sent_calls.add(job.calls_key)
        request = encode({"jobs": wire})
        if len(request) > JOB_MAX_BYTES:
            raise SandboxError(f"the jobs are {len(request)} bytes, over {JOB_MAX_BYTES}")
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
                report = report_from_wire(decode(header, max_bytes=REPLY_SLACK_BYTES))
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
                    header = read_frame(self._reply_fd, REPLY_SLACK_BYTES)
                    data = read_frame(self._reply_fd, self.limits.result_bytes + REPLY_SLACK_BYTES)
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


def _unstarted(reason: str, grader_layers: tuple[Layer, ...]) -> tuple[Layer, ...]:
    """The layer table of a worker that could not start: none of its layers, and why."""
    worker_layers = [name for name in LAYERS if name not in {layer.name for layer in grader_layers}]
    return (*(Layer(name, False, f"the sandbox worker could not start: {reason}" if index == 0 else
                    "not probed: the sandbox worker could not start") for index, name in enumerate(worker_layers)),
            *grader_layers)


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
    remove_scratch_of(pid)  # a worker that was killed could not remove its scratch folder


def _bad_result(message: str, call_index: int | None) -> RunOutcome:
    """Return an outcome that only says the result could not be used."""
    return RunOutcome((), RunFailure("bad-result", message, None, call_index), "", 0.0)


def _outcome(job: Job, data: bytes, report: ChildReport, limits: Limits) -> RunOutcome:
    """Parse the child's messages (in the grader, strictly) and decide why the run stopped, if it did."""
    calls, failure = _parse_messages(data, len(job.calls), limits)
    if report.stop == "too-large":
        message = f"the results are larger than {limits.result_bytes} bytes"
        failure = RunFailure("bad-result", message, None, len(calls))
    elif failure is None and report.stop == "timeout":
        failure = RunFailure("timeout", limit_message("timeout", limits), None, len(calls))
    elif failure is None and report.output_overflow:
        failure = RunFailure("output-limit", limit_message("output-limit", limits), None, None)
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
        for frame in frames(data):
            if failure is not None or len(calls) == call_count:
                raise DecodeError("more messages than calls")
            message = decode(frame, max_bytes=limits.result_bytes)
            if type(message) is dict and message.keys() == {"call"}:
                calls.append(call_from_wire(message["call"]))
            elif type(message) is dict and message.keys() == {"failure"}:
                failure = failure_from_wire(message["failure"])
            else:
                raise DecodeError("a message is neither a call nor a failure")
    except DecodeError as error:
        failure = RunFailure("bad-result", f"the results could not be read: {error}", None, len(calls))
    return calls, failure
