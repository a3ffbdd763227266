"""Benchmark: what each sandbox layer costs per job, on a trivial function (one call).

Run from the project root:
    python tests/benchmarks/bench_sandbox.py [--jobs 300]
It starts one worker per configuration: every optional layer left out ("none"), everything
("all"), and "all" without one layer at a time, whose difference to "all" is that layer's
cost. Jobs go to the workers in turn, so that noise from the rest of the machine spreads
evenly. Prints medians in milliseconds, and the layers in force with everything on.
"""
from __future__ import annotations

import argparse
import statistics
import time

from grader.sandbox import OPTIONAL_LAYERS, Job, Limits, Worker, describe_sandbox

JOB = Job("import numpy as np\n\ndef f(x):\n    return np.asarray(x) * 2\n", "<bench>", "f", ((1.5,),), {})
# Layers that are applied together are measured together.
GROUPS = {
    "clean-environment": ("clean-environment",),
    "rlimits": ("rlimits",),
    "namespaces (ipc; user when not root)": ("network-namespace", "ipc-namespace", "user-namespace"),
    "scratch-tmpfs (mount namespace)": ("scratch-tmpfs",),
    "unprivileged-user": ("unprivileged-user",),
    "no-capabilities": ("no-capabilities",),
    "landlock (files, network, scope)": ("landlock-files", "landlock-network", "landlock-scope"),
    "seccomp": ("seccomp", "network-namespace"),
    # Only used where seccomp is not: measured against "all without seccomp".
    "seccomp, replaced by a network namespace": ("seccomp",),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    arguments = parser.parse_args()
    configurations = {"none": frozenset(OPTIONAL_LAYERS), "all": frozenset()}
    configurations.update({f"all without {name}": frozenset(layers) for name, layers in GROUPS.items()})
    workers = {name: Worker.start(Limits(wall_seconds=5), without=without) for name, without in configurations.items()}
    samples: dict[str, list[float]] = {name: [] for name in configurations}
    try:
        for worker in workers.values():
            worker.run(JOB)  # warm-up, and the worker's probe out of the way
        # Round-robin, job by job, so that noise from the rest of the machine spreads evenly.
        for _ in range(arguments.jobs):
            for name, worker in workers.items():
                started = time.perf_counter()
                outcome = worker.run(JOB)
                samples[name].append(time.perf_counter() - started)
                assert outcome.failure is None, (name, outcome.failure)
    finally:
        for worker in workers.values():
            worker.close()
    medians = {name: statistics.median(times) * 1000 for name, times in samples.items()}
    print(f"{'configuration':<48} median ms per job   cost of the layer")
    for name, median in medians.items():
        cost = f"{medians['all'] - median:+.2f} ms" if name.startswith("all without") else ""
        print(f"{name:<48} {median:8.2f}            {cost}")
    print("\nwith every layer:\n" + describe_sandbox())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
