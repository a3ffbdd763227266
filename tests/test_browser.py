"""The feedback page and the class summary in a real browser: headless Chromium, no console message, not blank.

Skipped, saying why, where no Chromium is installed (README: `apt-get install chromium`). The
pages hold no script, so any console message is a problem: a Content-Security-Policy
violation (something the page tried to fetch or run) or an error. A control page that does
both checks that such messages are seen at all.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

BROWSER = next((found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))),
               None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (Debian: apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]
SCREENSHOTS = Path(os.environ.get("GRADER_SCREENSHOTS", tempfile.gettempdir()))
"""Where the screenshots are kept, to look at (default: the temporary folder)."""


def chromium(page: Path, *arguments: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", *arguments, page.as_uri()],
                              capture_output=True, text=True, timeout=120)


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def pixels(png: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and every pixel's RGB of a PNG (8-bit truecolour, with or without alpha: what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], b""
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        data = png[position + 8:position + 8 + length]
        header = data if kind == b"IHDR" else header
        chunks += [data] if kind == b"IDAT" else []
        position += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6)
    size = 3 if colour_type == 2 else 4
    raw, stride, rows, previous = zlib.decompress(b"".join(chunks)), width * size, [], bytearray(width * size)
    for row in range(height):
        kind, line = raw[row * (stride + 1)], bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up, corner = previous[i], previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                estimate = left + up - corner
                nearest = min((abs(estimate - left), 0, left), (abs(estimate - up), 1, up),
                              (abs(estimate - corner), 2, corner))[2]
                line[i] = (line[i] + nearest) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, [(row[i], row[i + 1], row[i + 2]) for row in rows for i in range(0, stride, size)]


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "out"
    done = subprocess.run([sys.executable, "-m", "grader", str(EXAMPLES / "np_sum_mistake.ipynb"),
                           str(EXAMPLES / "correct.ipynb"), "--out", str(out), "--format", "html", "--timeout", "3",
                           "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return out


def test_the_console_messages_of_a_page_are_seen(tmp_path):
    control = tmp_path / "control.html"
    control.write_text("<!DOCTYPE html><meta http-equiv='Content-Security-Policy' content=\"default-src 'none'\">"
                       "<p>control</p><script>console.error('seen')</script><img src='http://example.invalid/a.png'>")
    assert len(console_messages(chromium(control, "--dump-dom").stderr)) == 2


@pytest.mark.parametrize(("page", "present"), [
    ("np_sum_mistake.html", ['class="jp-Cell jp-MarkdownCell jp-Notebook-cell grader-feedback grader-finding"',
                             '<span class="hll">', "The L2 term is a number"]),
    ("summary.html", ['href="np_sum_mistake.html"', "class summary"]),
])
def test_the_page_opens_with_no_console_message_and_shows_the_feedback(graded, page, present):
    opened = chromium(graded / page, "--dump-dom")
    assert console_messages(opened.stderr) == []
    for fragment in present:
        assert fragment in opened.stdout, fragment  # in the DOM the browser built


@pytest.mark.parametrize("page", ["np_sum_mistake.html", "summary.html"])
def test_the_screenshot_is_not_blank(graded, page):
    screenshot = SCREENSHOTS / f"grader-{Path(page).stem}.png"
    shot = chromium(graded / page, f"--screenshot={screenshot}", "--window-size=1100,1500")
    assert console_messages(shot.stderr) == []
    width, height, colours = pixels(screenshot.read_bytes())
    assert (width, height) == (1100, 1500)
    assert len(set(colours)) > 50  # text, code colours, the feedback's frame and charts, not one background
    dark = sum(1 for red, green, blue in colours if red + green + blue < 200)
    assert dark > 2000, "no text drawn"
