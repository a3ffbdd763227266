"""Repeatability: grade every attack notebook, and run tests/test_attacks.py, many times in a row; report what differs.

Run from the project root, as root to cover every place (others are skipped with the reason):
    python tests/benchmarks/repeat_attacks.py [--runs 20] [--places "as started,user namespace"] [--no-pytest]
Each run grades, in each place of tests/elsewhere.py (as started, `unshare -Ur`,
`unshare -Urpf --mount-proc`, a throw-away ordinary user), one batch: every attack notebook,
the honest notebooks before and after them (tests/test_attacks.py's batch), and two
notebooks that are symbolic links into the project (to the examples' correct notebook and to
the reference solution). It records each result (its JSON, without its path and without the
folder, port and process ids that attacks print) and the exit status, then runs `pytest tests/test_attacks.py` and records each test's outcome. It prints,
for every submission, test and exit status that was not the same in every run, each variant
and how often it came; and the time of each run.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from test_attacks import run_batch  # noqa: E402

import elsewhere  # noqa: E402


def symlinks_into_the_project(folder: Path) -> tuple[Path, ...]:
    links = {"symlink_to_an_example.ipynb": ROOT / "submissions_example" / "correct_equivalent.ipynb",
             "symlink_to_the_reference.ipynb": ROOT / "reference" / "regularization" / "solution.py"}
    for name, target in links.items():
        (folder / name).symlink_to(target)
    return tuple(folder / name for name in links)


def signature(result: dict, folder: Path) -> str:
    """A result as text, without what is meant to differ: the run's folder and port, process ids the attacks print."""
    result = dict(result)
    result["submission"] = {key: value for key, value in result["submission"].items() if key != "path"}
    text = json.dumps(result, sort_keys=True).replace(str(folder), "<folder>")
    return re.sub(r"/proc/[0-9]+/", "/proc/<pid>/", re.sub(r"out-tcp-[0-9]+", "out-tcp-<port>", text))


def grade_once(place: elsewhere.Place) -> tuple[dict[str, str], int, float]:
    folder = elsewhere.folder_for(place, "grader-repeat-")
    try:
        batch = run_batch(folder, place, symlinks_into_the_project(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results = {name: signature(result, folder) for name, result in batch["results"].items()}
    if batch["written"] or batch["changed"] or batch["connected"]:
        results["<breach>"] = repr((batch["written"], batch["changed"], batch["connected"]))
    return results, batch["completed"].returncode, batch["seconds"]


def pytest_once() -> tuple[dict[str, str], int, float]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.xml"
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_attacks.py", "-q", "-p", "no:cacheprovider",
                               f"--junitxml={report}"], cwd=ROOT, capture_output=True, text=True)
        seconds = time.monotonic() - started
        outcomes = {}
        for case in ElementTree.parse(report).iter("testcase"):
            kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
            outcomes[case.get("name", "?")] = kinds[0] if kinds else "passed"
    return outcomes, done.returncode, seconds


def report(title: str, runs: list[tuple[dict[str, str], int, float]]) -> int:
    """Print what differed between the runs; return how many things did."""
    seconds = [round(run[2], 1) for run in runs]
    print(f"\n{title}: {len(runs)} runs, {min(seconds)}-{max(seconds)} s each ({seconds})")
    differing = 0
    statuses = collections.Counter(run[1] for run in runs)
    if len(statuses) > 1:
        differing += 1
        print(f"  exit status differs: {dict(statuses)}")
    names = sorted(set().union(*(run[0] for run in runs)))
    for name in names:
        variants = collections.Counter(run[0].get(name, "<missing>") for run in runs)
        if len(variants) > 1:
            differing += 1
            print(f"  {name}: {len(variants)} variants")
            for text, count in variants.most_common():
                print(f"    {count}x {text[:1500]}")
    print(f"  {len(names)} results, exit status {dict(statuses)}: "
          + ("all the same in every run" if not differing else f"{differing} differ"))
    return differing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--places", default=",".join(place.name for place in elsewhere.PLACES),
                        help="comma-separated names of places (default: all)")
    parser.add_argument("--no-pytest", action="store_true", help="only the batches")
    arguments = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    places = []
    for place in elsewhere.PLACES:
        if place.name in arguments.places.split(","):
            problem = place.problem()
            if problem is None:
                places.append(place)
            else:
                print(f"skipped {place.name}: {problem}")
    batches: dict[str, list] = {place.name: [] for place in places}
    tests: list = []
    for number in range(arguments.runs):
        for place in places:
            batches[place.name].append(grade_once(place))
        if not arguments.no_pytest:
            tests.append(pytest_once())
        print(f"run {number + 1}/{arguments.runs} done", file=sys.stderr, flush=True)
    differing = sum(report(f"batch, {name}", runs) for name, runs in batches.items())
    if tests:
        differing += report("pytest tests/test_attacks.py", tests)
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
