"""Progress of a batch on standard error: a redrawn bar on a terminal, a few plain lines otherwise (CI logs)."""
from __future__ import annotations

import time
from typing import TextIO

_REDRAW_SECONDS = 0.1
_LINE_SECONDS = 30.0  # at most this long between two lines in a log, on slow batches
_WIDTH = 28
_LINES_FROM = 20  # smaller batches get only the closing line in a log


class Progress:
    """Counts submissions done out of `total`; `interactive` redraws one line, otherwise prints every tenth."""

    def __init__(self, total: int, stream: TextIO, interactive: bool, enabled: bool = True) -> None:
        self.total = total
        self.stream = stream
        self.interactive = interactive
        self.enabled = enabled and total > 1
        self.done = self.skipped = self.failures = 0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._next_tenth = 1
        self._logged = self._started

    def skip(self, count: int) -> None:
        """`count` submissions were already graded (--resume)."""
        self.skipped += count
        self.done += count
        if self.enabled and count and not self.interactive:
            self._write(f"grade: {count} of {self.total} already graded, resuming\n")

    def advance(self, failed: bool = False) -> None:
        """One more submission done (`failed`: the grader could not grade it)."""
        self.done += 1
        self.failures += failed
        if not self.enabled:
            return
        now = time.monotonic()
        if self.interactive:
            if now - self._drawn >= _REDRAW_SECONDS or self.done == self.total:
                self._drawn = now
                self._write("\r" + self._bar(now) + "\033[K")
        elif self.total >= _LINES_FROM and (self.done * 10 >= self._next_tenth * self.total
                                             or now - self._logged >= _LINE_SECONDS):
            while self.done * 10 >= self._next_tenth * self.total:
                self._next_tenth += 1
            self._logged = now
            self._write(f"grade: {self.done}/{self.total} ({100 * self.done // self.total}%), {self._rate(now)}\n")

    def close(self) -> None:
        """End the bar and say how long it took."""
        if not self.enabled:
            return
        now = time.monotonic()
        graded = self.done - self.skipped
        line = (f"grade: {self.done}/{self.total} done in {now - self._started:.1f} s"
                f" ({graded} graded{f', {self.skipped} already graded' if self.skipped else ''}"
                f"{f', {self.failures} NOT graded (grader failures)' if self.failures else ''})")
        self._write(("\r" + line + "\033[K\n") if self.interactive else line + "\n")

    def _rate(self, now: float) -> str:
        graded = self.done - self.skipped
        elapsed = now - self._started
        return f"{graded / elapsed:.1f}/s" if elapsed > 0 and graded else "–/s"

    def _bar(self, now: float) -> str:
        fraction = self.done / self.total if self.total else 1.0
        filled = round(_WIDTH * fraction)
        graded = self.done - self.skipped
        elapsed = now - self._started
        remaining = (self.total - self.done) * elapsed / graded if graded else None
        eta = f"  ETA {int(remaining) // 60}:{int(remaining) % 60:02d}" if remaining is not None else ""
        return (f"grading [{'#' * filled}{'.' * (_WIDTH - filled)}] {self.done}/{self.total} "
                f"{self._rate(now)}{eta}")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False  # stderr went away: grading goes on
