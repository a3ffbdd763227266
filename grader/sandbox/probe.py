"""The probe: which layers this system allows, found by applying them in a throw-away child.

The worker starts from every layer the process can plausibly apply (kernel.candidate_plan),
applies the plan in a probe child that then checks each layer bites (`_self_check`), and
drops what fails, or lets the sandbox user keep the one capability it needs to read Python,
until a probe settles. What it settled on, and why each other layer is missing, is the
worker's layer report (`_describe`).
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import sys
from typing import Any

from grader.errors import DecodeError, LayerError
from grader.records import Layer
from grader.sandbox import identity, kernel, startup
from grader.sandbox.codec import decode, encode, read_frame, write_frame
from grader.sandbox.layers import GRADER_LAYERS, LAYERS
from grader.sandbox.limits import OPEN_FILES, cpu_seconds
from grader.sandbox.protocol import MESSAGE_CHARS, REPLY_SLACK_BYTES, SETUP_FAILED
from grader.sandbox.scratch import make_scratch, remove_tree
from grader.sandbox.settings import Settings

_PROBE_ATTEMPTS = 8


def hidden_paths() -> list[str]:
    """Directories student code must not read: the grader package and the assignments beside or in it."""
    package = os.path.dirname(os.path.realpath(__file__))  # the folder of this module's package
    for _ in range(str(__package__).count(".")):  # up from it to the top package (grader/), however deep
        package = os.path.dirname(package)
    return [package, os.path.join(os.path.dirname(package), "reference")]


def decide(settings: Settings, scratch_base: str, reference_modules: int) -> tuple[kernel.Plan, tuple[Layer, ...]]:
    """Find the layers this system allows, by applying them in throw-away children; describe them."""
    # As root: the sandbox user where this user namespace maps it, else another uid it maps, else none.
    switch = identity.choose_switch(settings.user, identity.read_id_maps()) if settings.user is not None else None
    plan = kernel.candidate_plan(switch.uid if switch else None, switch.gid if switch else None,
                                 settings.limits.scratch_bytes, settings.without, scratch_base, hidden_paths())
    details = dict(plan.details)
    if switch is not None and switch.uid is None:
        details[kernel.UNPRIVILEGED_USER] = switch.detail
    unreadable = None
    for _ in range(_PROBE_ATTEMPTS):
        failed, unreadable = _try_plan(plan, settings, scratch_base)
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
        raise startup.StartFailure("settle the layers",
                                   f"the probe still failed after {_PROBE_ATTEMPTS} attempts: {last}")
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


def _try_plan(plan: kernel.Plan, settings: Settings, scratch_base: str) -> tuple[tuple[str, str] | None, str | None]:
    """Apply the plan in a throw-away child and check that it holds.

    Returns:
        (layer, message) for the first layer that failed or did not hold, else None; and a
        path the child could not read that it must (the Python installation), else None.
    """
    try:
        scratch = make_scratch(scratch_base, plan)
    except LayerError as error:
        return (error.layer, str(error)), None
    try:
        with startup.step("make the probe's pipe"):
            read_fd, write_fd = os.pipe()
        with startup.step("fork the probe child"):
            pid = os.fork()
    except startup.StartFailure:
        remove_tree(scratch)
        raise
    if pid == 0:
        status = SETUP_FAILED
        try:
            os.close(read_fd)
            os.setsid()
            report: dict[str, Any]
            try:
                kernel.confine(plan, scratch)
                report = _self_check(plan)
            except LayerError as error:
                report = {"failed": [error.layer, str(error)[:MESSAGE_CHARS]]}
            write_frame(write_fd, encode(report))
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    answer: Any = None
    try:
        frame = read_frame(read_fd, REPLY_SLACK_BYTES)
        answer = decode(frame, max_bytes=REPLY_SLACK_BYTES) if frame is not None else None
    except DecodeError:
        answer = None
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
        remove_tree(scratch)
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


def _describe(plan: kernel.Plan, settings: Settings, details: dict[str, str], reference_modules: int,
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
        "rlimits": f"address space +{limits.memory_bytes >> 20} MB, CPU {cpu_seconds(limits)} s, "
                   f"files {limits.output_bytes >> 10} KB, {OPEN_FILES} descriptors, processes, no core",
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
        if name in GRADER_LAYERS:
            continue  # the grader's own, added by Worker
        on = name in in_force
        detail = described[name] if on else details.get(name, "not available here")
        if name == kernel.UNPRIVILEGED_USER and on and plan.keep_read_search:
            detail += f"; {details.get(kernel.NO_CAPABILITIES, 'keeps CAP_DAC_READ_SEARCH')}"
        layers.append(Layer(name, on, detail))
    return tuple(layers)
