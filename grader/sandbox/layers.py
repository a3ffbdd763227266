"""The sandbox's layers by name: every one in the order they are described, those that can be left out, the table."""

from __future__ import annotations

from collections.abc import Sequence

from grader.records import Layer
from grader.sandbox import kernel

# Every layer, in the order they are described; see describe_sandbox().
LAYERS = (
    "clean-worker", "closed-fds", "clean-environment", "rlimits", *kernel.NAMESPACES, kernel.SCRATCH_TMPFS,
    kernel.UNPRIVILEGED_USER, kernel.NO_CAPABILITIES, "no-new-privileges", *kernel.LANDLOCK, kernel.SECCOMP,
    "non-dumpable-grader", "strict-decoder",
)
# Layers a caller may leave out, to measure what each costs or to test a fallback.
OPTIONAL_LAYERS = frozenset({"clean-environment", "rlimits", *kernel.KERNEL_LAYERS})
# The layers of the grader's own process, which the grader adds to the worker's report.
GRADER_LAYERS = ("non-dumpable-grader", "strict-decoder")


def format_layers(layers: Sequence[Layer]) -> str:
    """One line per layer: "+" in force, "-" not, its name, and what it does or why not."""
    width = max(len(name) for name in LAYERS)
    return "\n".join(f"{'+' if layer.in_force else '-'} {layer.name:<{width}}  {layer.detail}" for layer in layers)
