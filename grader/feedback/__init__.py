"""Feedback: every output format behind one registry (`registry`), the finding block written once (`blocks`).

Per submission: `text`, `markdown`, `result_json` (the JSON contract), `gradescope`, `notebook` (the
annotated notebook) and `page` (its HTML); for a batch: `junit`. `audience` makes the views of
`--feedback`, `heatmap` the pictures. Importing the package registers them all.
"""
from grader.feedback import gradescope, junit, markdown, notebook, page, result_json, text  # noqa: F401 - each registers
from grader.feedback.registry import FORMATS, Format, Renderer, render, renderers, suffixes

RENDERERS = renderers()
"""Every per-submission renderer, by format name: (result, grader version, colour) → text."""
BATCH_FORMATS = tuple(name for name, entry in FORMATS.items() if entry.needs_batch)
"""Formats written by the batch path even for one submission (CI files, not terminal output)."""

__all__ = ["BATCH_FORMATS", "FORMATS", "Format", "RENDERERS", "Renderer", "render", "renderers", "suffixes"]
