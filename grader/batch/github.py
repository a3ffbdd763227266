"""The GitHub Actions job summary: the class summary and a table of grades, or one submission's feedback."""
from __future__ import annotations

import os
import sys

from grader.batch.reports import ClassReport
from grader.feedback.blocks import markdown_cell, points_text
from grader.feedback.markdown import render_markdown
from grader.records import SubmissionResult
from grader.scoring import GRADER_FAILURE

GITHUB_SUMMARY_BYTES = 1 << 20
"""GitHub refuses a job summary larger than 1 MiB."""
_GITHUB_TABLE_ROWS = 200


def github_summary(report: ClassReport, single: SubmissionResult | None = None) -> str:
    """The job summary: for one submission its feedback, for a batch the class summary and a table of grades."""
    if single is not None and len(report.rows) == 1:
        return _bounded(render_markdown(single, "", False))
    lines = [report.summary_markdown(), "## Grades", "", "| submission | score | status | findings |",
             "|---|---:|---|---|"]
    for row in report.rows[:_GITHUB_TABLE_ROWS]:
        status = GRADER_FAILURE if row.grader_failure else row.status
        score = f"{points_text(row.score)}/{points_text(row.max_score)}"
        lines.append(f"| `{markdown_cell(row.id)}` | {score} | {status} | "
                     f"{' '.join(f'`{finding}`' for finding in row.finding_ids)} |")
    if len(report.rows) > _GITHUB_TABLE_ROWS:
        lines.append(f"\n… and {len(report.rows) - _GITHUB_TABLE_ROWS} more: see grades.csv.")
    return _bounded("\n".join(lines) + "\n")


def _bounded(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= GITHUB_SUMMARY_BYTES - 200:
        return text
    return data[: GITHUB_SUMMARY_BYTES - 200].decode("utf-8", "ignore") + "\n\n… (cut: GitHub's 1 MiB limit)\n"


def append_github_summary(text: str) -> bool:
    """Append to the file `$GITHUB_STEP_SUMMARY` names, when it is set; returns whether it was.

    A summary that cannot be written is worth a warning, not the grades: they are all written already.
    """
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    try:
        with open(target, "a", encoding="utf-8") as file:
            file.write(text if text.endswith("\n") else text + "\n")
    except OSError as error:
        print(f"grade: warning: cannot write the GitHub job summary to {target} ({error.strerror or error}); "
              "the grades are written, only the summary is missing", file=sys.stderr)
        return False
    return True
