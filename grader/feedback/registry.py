"""The output formats, one registry: a per-submission renderer, or a document of the whole batch, each by name.

A format registers itself with a decorator where it is defined; `--format` accepts exactly
the registered names, and a name registered twice fails at import, not in a batch.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grader.feedback.audience import DEFAULT_LEVEL, for_audience
from grader.records import SubmissionResult

Renderer = Callable[[SubmissionResult, str, bool], str]
"""(result, grader version, colour) → text."""


@dataclass(frozen=True, slots=True)
class Format:
    """One `--format` and how it is written."""

    name: str
    description: str
    render: Renderer | None = None
    """Renders one submission (text, json, markdown, gradescope); None for a batch document."""
    suffix: str | None = None
    """With --out, the file each submission's rendering goes to: `<id><suffix>`."""
    batch_file: str | None = None
    """With --out, the document it writes for the whole batch (junit.xml), or for a single submission."""
    needs_batch: bool = False
    """Written by the batch path even for one submission (a CI file, not terminal output)."""
    for_students: bool = True
    """Students read it, so `--feedback` decides what it shows (the result JSON is the instructor's record)."""


FORMATS: dict[str, Format] = {}


def _register(entry: Format) -> None:
    if entry.name in FORMATS:
        raise RuntimeError(f"format {entry.name!r} registered twice")
    FORMATS[entry.name] = entry


def renderer(name: str, suffix: str, description: str, *, batch_file: str | None = None,
             needs_batch: bool = False, for_students: bool = True) -> Callable[[Renderer], Renderer]:
    """Register a per-submission renderer for `--format name`."""

    def register(function: Renderer) -> Renderer:
        _register(Format(name, description, function, suffix, batch_file, needs_batch, for_students))
        return function

    return register


def batch_document(name: str, batch_file: str, description: str) -> None:
    """Register a format that is one document for the whole batch (its writer lives in grader.batch)."""
    _register(Format(name, description, batch_file=batch_file, needs_batch=True))


def renderers() -> dict[str, Renderer]:
    """Every per-submission renderer, by format name."""
    return {name: entry.render for name, entry in FORMATS.items() if entry.render is not None}


def suffixes() -> dict[str, str]:
    """Format name → the suffix of its per-submission file."""
    return {name: entry.suffix for name, entry in FORMATS.items() if entry.suffix is not None}


def render(name: str, result: SubmissionResult, version: str, colour: bool = False,
           feedback: str = DEFAULT_LEVEL) -> str:
    """One submission in format `name`, showing what `--feedback` lets students see when they read that format."""
    entry = FORMATS[name]
    assert entry.render is not None, f"{name} is a batch document"
    return entry.render(for_audience(result, feedback) if entry.for_students else result, version, colour)
