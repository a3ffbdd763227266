"""What the grader asks of the sandbox worker, which the worker and its children inherit through fork."""

from __future__ import annotations

from dataclasses import dataclass

from grader.records import Limits
from grader.sandbox.identity import SandboxUser


@dataclass(frozen=True, slots=True)
class Settings:
    """What the grader asks of the worker."""

    limits: Limits
    user: SandboxUser | None  # the user children switch to when the grader is root, if its namespace maps it
    without: frozenset[str]  # layers to leave out
