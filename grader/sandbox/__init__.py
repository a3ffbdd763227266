"""Run student code in an isolated child process, forked from a warm worker.

Processes: the grader forks one *worker* (`Worker.start`) before any reference code is
loaded; the worker forks one short-lived *child* per submission, which runs its jobs (one per
graded function) one after the other. Messages are codec frames: the grader sends the jobs,
the child sends one message per finished call (or one failure) and an empty frame after each
job, and the worker answers the grader with a report and the messages of each job. Nothing is
unpickled; every message is checked field by field when it arrives.

Layers (DESIGN.md §5): when it starts, the worker probes in a throw-away child which kernel
layers this system allows and tells the grader (`Worker.layers`); every child then applies
exactly those before running student code, or does not run it.

The modules, from the grader's side down (each imports only modules below it):

- client: `Worker`, the grader's handle on the worker process; `describe_sandbox`.
- worker: the worker process: cleaning itself, serving jobs, one child per submission.
- probe: which layers this system allows, and the layer report.
- child: the child process: isolation, limits, alarms, running the jobs.
- protocol, codec: the messages between the processes, and their strict encoding.
- layers, settings, limits, scratch, descriptors, identity, startup: what they share.
- kernel/: the kernel layers (namespaces, privileges, Landlock, seccomp) and `confine`.
"""

from grader.errors import SandboxError, WorkerStartError
from grader.records import CallOutcome, Job, Layer, Limits, RaisedError, RunFailure, RunOutcome
from grader.sandbox.client import Submitted, Worker, describe_sandbox, layers_in_force
from grader.sandbox.layers import LAYERS, OPTIONAL_LAYERS, format_layers

__all__ = [
    "LAYERS",
    "OPTIONAL_LAYERS",
    "CallOutcome",
    "Job",
    "Layer",
    "Limits",
    "RaisedError",
    "RunFailure",
    "RunOutcome",
    "SandboxError",
    "Submitted",
    "Worker",
    "WorkerStartError",
    "describe_sandbox",
    "format_layers",
    "layers_in_force",
]
