"""Benchmark: wall time of `grade one.ipynb`, interpreter start included, on a ~300 KB notebook.

Run from the project root with the project installed:
    python tests/benchmarks/bench_single.py [--runs 21]
The notebook is built from submissions_example/correct.ipynb plus plot-like outputs (base64
PNG-sized payloads), like a student's executed notebook. Prints the median, min and max.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build_notebook(target: Path, size_bytes: int = 300_000) -> int:
    """Copy the correct example and pad its code cells with image outputs until it weighs ~size_bytes."""
    notebook = json.loads((ROOT / "submissions_example" / "correct.ipynb").read_text())
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    payload = base64.b64encode(os.urandom(size_bytes * 3 // 4 // (len(code_cells) + 1))).decode()
    for count, cell in enumerate(code_cells):
        cell["execution_count"] = count + 1
        cell["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {"image/png": payload,
                                                                                   "text/plain": ["<Figure>"]}}]
    target.write_text(json.dumps(notebook))
    return target.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--grade", default=shutil.which("grade") or f"{sys.executable} -m grader")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        notebook = Path(folder) / "one.ipynb"
        size = build_notebook(notebook)
        command = arguments.grade.split() + [str(notebook), "--format", "json"]
        subprocess.run(command, capture_output=True, check=False)  # warm the file cache once
        times = []
        for _ in range(arguments.runs):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - started)
            if done.returncode != 0 or json.loads(done.stdout)["score"] != json.loads(done.stdout)["max_score"]:
                print(f"unexpected result (exit {done.returncode}): {done.stdout[:300]} {done.stderr[-300:]}")
                return 1
    print(f"grade one.ipynb ({size / 1000:.0f} KB, {arguments.runs} runs, {os.cpu_count()} CPUs): "
          f"median {statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
