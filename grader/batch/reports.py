"""Class reports: grades.csv, summary.md and summary.html (inline SVG charts), from the results of a batch.

Pure: `ClassReport` is fed results in the batch's order and renders text; it keeps one small
row per submission and running counts, never the results themselves. The same results in
the same order give the same bytes (no dates, no timings), so a resumed or merged batch
writes exactly what one uninterrupted run writes.
"""
from __future__ import annotations

import csv
import html
import io
import statistics
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from grader.batch.charts import COLOURS, STATUSES, Bar, bar_chart, column_chart
from grader.batch.outdir import AssignmentInfo
from grader.records import SubmissionResult
from grader.scoring import NO_GRADED_FUNCTION

GRADER_FAILURE = "grader-failure"
"""`errors[].kind` of a record the batch wrote because the grader itself failed on a submission."""
_BINS = 10
_NOT_RUN = ("error", "missing")
"""Exercise statuses of a function that never returned a value: none of its checks judged anything."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNMATCHED_HEADING = "## No graded function (another assignment's notebook?)"


@dataclass(frozen=True, slots=True)
class Row:
    """One submission, as the gradebook shows it."""

    id: str
    path: str
    score: float
    max_score: float
    status: str
    exercise_scores: tuple[float | None, ...]
    """In the assignment's exercise order; None when the result lacks the exercise."""
    finding_ids: tuple[str, ...]
    """Catalogue ids of every finding, in order, each once ("generic" for a finding with no catalogue entry)."""
    grader_failure: str | None
    """Why the grader could not grade it, or None."""
    unmatched: str | None = None
    """When it defines none of the assignment's functions: what it defines instead (the result's error message)."""


@dataclass(slots=True)
class _MistakeCount:
    function: str
    id: str | None
    title: str
    submissions: int = 0


@dataclass(slots=True)
class _CheckCount:
    name: str
    max_score: float
    passed: int = 0
    seen: int = 0
    not_run: int = 0
    """Submissions whose function never returned (or is not there): the check had nothing to judge."""


class ClassReport:
    """Accumulates a batch's results (in order) and renders the gradebook and the class summary."""

    def __init__(self, assignment: AssignmentInfo) -> None:
        self.assignment = assignment
        self.rows: list[Row] = []
        self._mistakes: dict[tuple[str, str | None, str], _MistakeCount] = {}
        self._statuses: dict[str, dict[str, int]] = {}
        self._checks: dict[tuple[str, int], _CheckCount] = {}

    def add(self, submission_id: str, result: SubmissionResult) -> None:
        """Count one result; call in the batch's order."""
        by_function = {exercise.function: exercise for exercise in result.exercises}
        failure = next((message for kind, message in result.errors if kind == GRADER_FAILURE), None)
        unmatched = next((message for kind, message in result.errors if kind == NO_GRADED_FUNCTION), None)
        finding_ids: list[str] = []
        for exercise in result.exercises:
            seen_here = set()
            for finding in exercise.findings:
                # Generic findings group by title: "A2 does not match the expected value" says which output.
                key = (exercise.function, finding.id, "" if finding.id else finding.title)
                if key in seen_here:
                    continue
                seen_here.add(key)
                count = self._mistakes.setdefault(key, _MistakeCount(exercise.function, finding.id, finding.title))
                count.submissions += 1
                finding_ids.append(finding.id or "generic")
            if failure is None:
                ran = exercise.status not in _NOT_RUN
                statuses = self._statuses.setdefault(exercise.function, dict.fromkeys(STATUSES, 0))
                statuses[exercise.status] = statuses.get(exercise.status, 0) + 1
                for position, check in enumerate(exercise.checks):
                    tally = self._checks.setdefault((exercise.function, position),
                                                    _CheckCount(check.name, check.max_score))
                    tally.seen += 1
                    tally.passed += check.passed
                    tally.not_run += not ran
        self.rows.append(Row(
            submission_id, result.path, result.score, result.max_score, result.status,
            tuple(by_function[e.function].score if e.function in by_function else None
                  for e in self.assignment.exercises),
            tuple(dict.fromkeys(finding_ids)), failure, unmatched,
        ))

    # ---- grades.csv ---------------------------------------------------------------------

    def grades_csv(self) -> str:
        """One row per submission: id, path, score, max_score, status, one score per exercise, finding ids."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["id", "path", "score", "max_score", "status",
                         *(e.function for e in self.assignment.exercises), "findings"])
        for row in self.rows:
            writer.writerow([
                _cell(row.id), _cell(row.path), points_text(row.score), points_text(row.max_score),
                GRADER_FAILURE if row.grader_failure else row.status,
                *("" if score is None else points_text(score) for score in row.exercise_scores),
                _cell(" ".join(row.finding_ids)),
            ])
        return buffer.getvalue()

    # ---- numbers shared by both summaries -----------------------------------------------

    def _graded(self) -> list[Row]:
        return [row for row in self.rows if row.grader_failure is None]

    def _histogram(self) -> list[tuple[str, int]]:
        """Submissions per tenth of the maximum score; the last bin holds full marks only."""
        top = self.assignment.max_score
        counts = [0] * (_BINS + 1)
        for row in self._graded():
            fraction = row.score / row.max_score if row.max_score else 0.0
            counts[_BINS if fraction >= 1 - 1e-9 else min(int(fraction * _BINS + 1e-9), _BINS - 1)] += 1
        labels = [f"[{points_text(top * i / _BINS)}, {points_text(top * (i + 1) / _BINS)})" for i in range(_BINS)]
        return list(zip([*labels, f"{points_text(top)} (full marks)"], counts))

    def _headline(self) -> str:
        graded = self._graded()
        failures = len(self.rows) - len(graded)
        if not graded:
            return f"{len(self.rows)} submissions, none graded" + (f" ({failures} grader failures)" if failures else "")
        scores = [row.score for row in graded]
        top = self.assignment.max_score
        full = sum(1 for row in graded if row.score >= row.max_score - 1e-9)
        parts = [f"{len(self.rows)} submissions", f"mean {points_text(statistics.fmean(scores))}/{points_text(top)}",
                 f"median {points_text(statistics.median(scores))}", f"min {points_text(min(scores))}",
                 f"max {points_text(max(scores))}", f"{full} with full marks ({_percent(full, len(graded))})"]
        if failures:
            parts.append(f"{failures} not graded (grader failures)")
        unmatched = sum(1 for row in graded if row.unmatched)
        if unmatched:
            parts.append(f"{unmatched} matched no graded function")
        return " · ".join(parts)

    def _exercise_rows(self) -> list[tuple[str, str, dict[str, int], float | None]]:
        """(function, title, status counts, mean score) per exercise."""
        result = []
        for position, exercise in enumerate(self.assignment.exercises):
            counts = self._statuses.get(exercise.function, dict.fromkeys(STATUSES, 0))
            scores = [row.exercise_scores[position] for row in self._graded()
                      if row.exercise_scores[position] is not None]
            result.append((exercise.function, exercise.title, counts,
                           statistics.fmean(scores) if scores else None))  # type: ignore[arg-type]
        return result

    def _mistake_rows(self) -> list[_MistakeCount]:
        order = {exercise.function: position for position, exercise in enumerate(self.assignment.exercises)}
        return sorted(self._mistakes.values(),
                      key=lambda m: (-m.submissions, order.get(m.function, len(order)), m.id is None, m.id or m.title))

    def _check_rows(self) -> list[tuple[str, _CheckCount]]:
        order = {exercise.function: position for position, exercise in enumerate(self.assignment.exercises)}
        return [(function, tally) for (function, _), tally in
                sorted(self._checks.items(), key=lambda item: (order.get(item[0][0], len(order)), item[0][1]))]

    # ---- summary.md ---------------------------------------------------------------------

    def summary_markdown(self) -> str:
        """The class summary: score distribution, per-exercise pass rates, how often each mistake occurred."""
        graded = len(self._graded())
        lines = [f"# {markdown_cell(self.assignment.title)} — class summary", "", self._headline(), "",
                 "## Score distribution", "", "| score | submissions | |", "|---|---:|---|"]
        histogram = self._histogram()
        widest = max((count for _, count in histogram), default=0) or 1
        for label, count in histogram:
            lines.append(f"| {label} | {count} | {'█' * round(20 * count / widest)} |")
        lines += ["", "## Exercises", "", "| exercise | passed | failed | error | missing | mean score |",
                  "|---|---:|---:|---:|---:|---:|"]
        for position, (function, _title, counts, mean) in enumerate(self._exercise_rows()):
            maximum = self.assignment.exercises[position].max_score
            shown = "–" if mean is None else f"{points_text(mean)}/{points_text(maximum)}"
            lines.append(f"| `{function}` | {counts['passed']} ({_percent(counts['passed'], graded)}) | "
                         f"{counts['failed']} | {counts['error']} | {counts['missing']} | {shown} |")
        checks = self._check_rows()
        if checks:
            lines += ["", "### Checks", "", "| exercise | check | passed | failed | not run |",
                      "|---|---|---:|---:|---:|"]
            for function, tally in checks:
                lines.append(f"| `{function}` | {markdown_cell(tally.name)} | {_percent(tally.passed, tally.seen)} "
                             f"({tally.passed}/{tally.seen}) | {tally.seen - tally.passed - tally.not_run} | "
                             f"{tally.not_run} |")
        lines += ["", "## Mistakes", ""]
        mistakes = self._mistake_rows()
        if mistakes:
            lines += ["| mistake | exercise | submissions | share |", "|---|---|---:|---:|"]
            for mistake in mistakes:
                name = f"`{mistake.id}`" if mistake.id else "*(no catalogue entry)*"
                label = f"{name} {markdown_cell(mistake.title)}"
                lines.append(f"| {label} | `{mistake.function}` | {mistake.submissions} | "
                             f"{_percent(mistake.submissions, len(self.rows))} |")
        else:
            lines.append("No mistakes found.")
        failures = [row for row in self.rows if row.grader_failure]
        if failures:
            lines += ["", "## Not graded (the grader failed)", "", "| submission | reason |", "|---|---|"]
            lines += [f"| `{markdown_cell(row.id)}` | {markdown_cell(row.grader_failure or '')} |" for row in failures]
        unmatched = [row for row in self.rows if row.unmatched]
        if unmatched:
            lines += ["", _UNMATCHED_HEADING, "", "| submission | what it defines |", "|---|---|"]
            lines += [f"| `{markdown_cell(row.id)}` | {markdown_cell(row.unmatched or '')} |" for row in unmatched]
        return "\n".join(lines) + "\n"

    # ---- summary.html -------------------------------------------------------------------

    def summary_html(self, feedback: Sequence[str] = ()) -> str:
        """The class summary as one self-contained HTML page: the same numbers, drawn as inline SVG charts.

        Args:
            feedback: Suffixes of the files written next to the page for each submission (`.md`, ...):
                the table of submissions links each to its own.
        """
        graded = len(self._graded())
        title = html.escape(self.assignment.title)
        parts = [
            "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            f"<title>{title} — class summary</title>",
            "<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
            "color:#212121}h1{font-size:1.5rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}"
            "table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;"
            "text-align:left;overflow-wrap:anywhere}td.n{text-align:right;white-space:nowrap}code{font-size:.9em}"
            "svg text{font-size:12px;font-family:system-ui,sans-serif}"
            ".legend span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em}</style>",
            "</head>", "<body>", f"<h1>{title} — class summary</h1>", f"<p>{html.escape(self._headline())}</p>",
            "<h2>Score distribution</h2>", column_chart(self._histogram()),
            "<h2>Exercises</h2>",
        ]
        exercise_rows = self._exercise_rows()
        parts.append(bar_chart([Bar(function, tuple((status, counts[status]) for status in STATUSES),
                                    sum(counts.values()), f"{counts['passed']}/{sum(counts.values())} passed")
                                for function, _, counts, _ in exercise_rows]))
        parts.append(_legend(STATUSES))
        parts.append("<table><tr><th>exercise</th><th>passed</th><th>failed</th><th>error</th><th>missing</th>"
                     "<th>mean score</th></tr>")
        for position, (function, _title, counts, mean) in enumerate(exercise_rows):
            maximum = self.assignment.exercises[position].max_score
            shown = "–" if mean is None else f"{points_text(mean)}/{points_text(maximum)}"
            parts.append(f"<tr><td><code>{html.escape(function)}</code></td>"
                         f"<td class=n>{counts['passed']} ({_percent(counts['passed'], graded)})</td>"
                         f"<td class=n>{counts['failed']}</td><td class=n>{counts['error']}</td>"
                         f"<td class=n>{counts['missing']}</td><td class=n>{shown}</td></tr>")
        parts.append("</table>")
        checks = self._check_rows()
        if checks:
            parts.append("<h3>Checks passed</h3>")
            parts.append(bar_chart([
                Bar(f"{function}: {tally.name}", (("passed", tally.passed),
                                                  ("failed", tally.seen - tally.passed - tally.not_run),
                                                  ("not run", tally.not_run)), tally.seen,
                    f"{_percent(tally.passed, tally.seen)} ({tally.passed}/{tally.seen})"
                    + (f", {tally.not_run} not run" if tally.not_run else ""))
                for function, tally in checks]))
            parts.append(_legend(("passed", "failed", "not run")))
        parts.append("<h2>Mistakes</h2>")
        mistakes = self._mistake_rows()
        if mistakes:
            # Scaled to the class, as the checks are: one student in eight draws an eighth of a bar.
            parts.append(bar_chart([Bar(f"{m.id or '(no catalogue entry)'} — {m.title} ({m.function})",
                                        (("mistake", m.submissions),), len(self.rows),
                                        f"{m.submissions} ({_percent(m.submissions, len(self.rows))})")
                                    for m in mistakes[:30]]))
            parts.append("<table><tr><th>mistake</th><th>exercise</th><th>submissions</th><th>share</th></tr>")
            for mistake in mistakes:
                label = (f"<code>{html.escape(mistake.id)}</code> " if mistake.id else "<em>(no catalogue entry)</em> ")
                parts.append(f"<tr><td>{label}{html.escape(mistake.title)}</td>"
                             f"<td><code>{html.escape(mistake.function)}</code></td>"
                             f"<td class=n>{mistake.submissions}</td>"
                             f"<td class=n>{_percent(mistake.submissions, len(self.rows))}</td></tr>")
            parts.append("</table>")
        else:
            parts.append("<p>No mistakes found.</p>")
        parts += self._submissions_html(feedback)
        failures = [row for row in self.rows if row.grader_failure]
        if failures:
            parts.append("<h2>Not graded (the grader failed)</h2><table><tr><th>submission</th><th>reason</th></tr>")
            parts += [f"<tr><td><code>{html.escape(row.id)}</code></td><td>{html.escape(row.grader_failure or '')}"
                      "</td></tr>" for row in failures]
            parts.append("</table>")
        unmatched = [row for row in self.rows if row.unmatched]
        if unmatched:
            parts.append(f"<h2>{html.escape(_UNMATCHED_HEADING[3:])}</h2>"
                         "<table><tr><th>submission</th><th>what it defines</th></tr>")
            parts += [f"<tr><td><code>{html.escape(row.id)}</code></td><td>{html.escape(row.unmatched or '')}"
                      "</td></tr>" for row in unmatched]
            parts.append("</table>")
        parts += ["</body>", "</html>"]
        return "\n".join(parts) + "\n"

    def _submissions_html(self, feedback: Sequence[str]) -> list[str]:
        """A row per submission: score, status, finding ids, and links to its feedback files."""
        links = "<th>feedback</th>" if feedback else ""
        parts = ["<h2>Submissions</h2>",
                 f"<table><tr><th>submission</th><th>score</th><th>status</th><th>findings</th>{links}</tr>"]
        for row in self.rows:
            status = GRADER_FAILURE if row.grader_failure else row.status
            findings = " ".join(f"<code>{html.escape(finding)}</code>" for finding in row.finding_ids)
            files = " · ".join(f'<a href="{html.escape(urllib.parse.quote(row.id + suffix))}">{suffix[1:]}</a>'
                               for suffix in feedback)
            parts.append(f"<tr><td><code>{html.escape(row.id)}</code></td>"
                         f"<td class=n>{points_text(row.score)}/{points_text(row.max_score)}</td>"
                         f"<td>{html.escape(status)}</td><td>{findings}</td>"
                         f"{f'<td>{files}</td>' if feedback else ''}</tr>")
        parts.append("</table>")
        return parts


# ---- helpers ------------------------------------------------------------------------------


def _legend(names: Sequence[str]) -> str:
    return '<p class="legend">' + "".join(
        f'<span style="background:{COLOURS[name]}"></span>{name}' for name in names) + "</p>"


def points_text(value: float) -> str:
    """A score as people write it: 7, 9.42, 0.5 (at most two decimals)."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def markdown_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (ids and paths come from students' file names)."""
    return "'" + text if text.startswith(_FORMULA_START) else text
