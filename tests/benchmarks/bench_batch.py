"""Benchmark: grade a class of realistic notebooks in one batch; compare with executing one notebook whole.

Run from the project root, with the project installed in a venv (`pip install .`, so bytecode is compiled):
    python tests/benchmarks/bench_batch.py --grade .venv/bin/grade [--count 1000] [--jobs 2]
        [--sizes 250,500,1000] [--repeat 1] [--timeouts 0] [--own-share S] [--nbclient-python .venv/bin/python]

What it does:
1. Generates `--count` notebooks of ≈300 KB (code cells padded with base64 image outputs, like an
   executed notebook) from submissions_example/: correct ones, and copies of correct.ipynb with one
   or two mistakes put in by string replacement (cost: λ/m instead of λ/2m, λ/2·m, ΣW instead of
   ΣW², a W left out, the penalty not added; backward: λ·ΣW/m in dW1, λ/2m, a term left out, the
   wrong sign, a term on db; and in 30% of those a dropout mistake: > keep_prob, randn masks, no
   /keep_prob forward or backward, no mask on dA2) plus the other examples (unfinished, syntax error, global, mutates).
   Infinite loops are left out unless --timeouts K asks for K of them: each holds one grading slot
   for --timeout seconds whatever the grader does, so they measure the time limit, not the grader.
   Each graded function is made its student's own (a variable renamed) as often as in a real
   class (OWN_CODE), so the grader reuses runs only as often as it could there; `--own-share 1`
   makes every one unique, the worst case.
2. Runs `grade DIR --out OUT --jobs N` once per size in --sizes (default: just --count) and reports
   wall time, notebooks/s, and the peak memory of the whole process tree, sampled from /proc (sum
   of RSS every 50 ms, which counts pages shared between the forked processes once per process,
   and sum of PSS every 500 ms, which splits them; sampling costs about 2% of one CPU). Before each
   run it times a fixed pure-Python loop (the speed index): on a shared machine the same code runs
   up to twice as slow at times, and --repeat N gives the best, median and worst of N runs.
3. With --nbclient-python (a Python with nbclient, ipykernel and matplotlib): executes one generated
   correct notebook whole with nbclient, as notebook-executing graders do, with the course helpers
   (reference/regularization/provided.py) importable as reg_utils and testCases, and the course's
   training loops as they are (2 × 30,000 iterations).
"""
from __future__ import annotations

import argparse
import base64
import json
import math
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "submissions_example"
PAGE = os.sysconf("SC_PAGE_SIZE")

COST_MISTAKES = {
    "cost: λ/m instead of λ/2m": ("lambd / (2 * m) *", "lambd / m *"),
    "cost: λ/2·m": ("lambd / (2 * m) *", "lambd / 2 * m *"),
    "cost: ΣW3 instead of ΣW3²": ("np.sum(np.square(W3))", "np.sum(W3)"),
    "cost: W3 left out": (" + np.sum(np.square(W3))", ""),
    "cost: penalty not added": ("cost = cross_entropy_cost + L2_regularization_cost", "cost = cross_entropy_cost"),
}
BACKWARD_MISTAKES = {
    "backward: λ·ΣW1/m": ("+ lambd / m * W1", "+ (lambd * np.sum(W1)) / m"),
    "backward: λ/2m in dW2": ("+ lambd / m * W2", "+ lambd / (2 * m) * W2"),
    "backward: no term in dW3": (" + lambd / m * W3", ""),
    "backward: wrong sign in dW2": ("+ lambd / m * W2", "- lambd / m * W2"),
    "backward: term on db3": ("db3 = 1./m * np.sum(dZ3, axis=1, keepdims=True)",
                              "db3 = 1./m * np.sum(dZ3, axis=1, keepdims=True) + lambd / m * b3"),
}
DROPOUT_MISTAKES = {
    "dropout: D1 > keep_prob": ("D1 = D1 < keep_prob", "D1 = D1 > keep_prob"),
    "dropout: masks from randn": ("np.random.rand(A2.shape[0], A2.shape[1])", "np.random.randn(A2.shape[0], A2.shape[1])"),
    "dropout: A1 not divided": ("A1 = A1 / keep_prob", "A1 = A1"),
    "dropout backward: dA1 not divided": ("dA1 = dA1 / keep_prob", "dA1 = dA1"),
    "dropout backward: no mask on dA2": ("dA2 = dA2 * D2", "dA2 = dA2"),
}
# How often a student's function is their own: no classmate's has the same syntax tree on the same
# lines, so the grader cannot reuse a run (grader/runcache.py). Measured with that key on the 57 real
# notebooks of the course that define both functions: 26 distinct cost functions (46%) and 18
# distinct backward functions (32%); of the 58 and 57 that define the dropout functions, 24
# distinct forward (41%) and 12 distinct backward (21%). A bigger class repeats its common solutions more, so the
# share only falls with size: these are generous for 1,000. A generated notebook is made its
# student's own by renaming a variable in the function, as students do.
OWN_CODE = {"compute_cost_with_regularization": ("L2_regularization_cost", 0.46),
            "backward_propagation_with_regularization": ("gradients", 0.32),
            "forward_propagation_with_dropout": ("cache", 0.41),
            "backward_propagation_with_dropout": ("gradients", 0.21)}
OTHER_EXAMPLES = ("correct_equivalent", "incomplete", "syntax_error", "uses_global", "mutates_inputs", "np_sum_mistake")


def pad(notebook: dict, size_bytes: int, rng: random.Random) -> dict:
    """Give every code cell an image output so that the notebook weighs about `size_bytes`."""
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    payload_bytes = size_bytes * 3 // 4 // (len(code_cells) + 1)
    for count, cell in enumerate(code_cells):
        cell["execution_count"] = count + 1
        image = base64.b64encode(rng.randbytes(payload_bytes)).decode()
        cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                            "data": {"image/png": image, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}}]
    return notebook


def make_own(notebook: dict, number: int, rng: random.Random, own_share: float | None) -> list[str]:
    """Rename a variable in each graded function, with the probability of OWN_CODE (or `own_share`).

    Returns the functions renamed.
    """
    renamed = []
    for function, (variable, share) in OWN_CODE.items():
        if rng.random() >= (share if own_share is None else own_share):
            continue
        for cell in notebook["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and f"def {function}(" in source:
                cell["source"] = re.sub(rf"\b{variable}\b", f"{variable}_{number}", source)
                renamed.append(function)
    return list(dict.fromkeys(renamed))


def generate(folder: Path, count: int, timeouts: int = 0, size_bytes: int = 300_000, seed: int = 5,
             own_share: float | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """Write `count` notebooks into `folder` (`student_0000.ipynb` is correct).

    Returns:
        How many notebooks of each kind, and how many have each graded function of their own.
    """
    rng = random.Random(seed)
    correct = (EXAMPLES / "correct.ipynb").read_text()
    others = {name: (EXAMPLES / f"{name}.ipynb").read_text() for name in OTHER_EXAMPLES}
    loop = (EXAMPLES / "infinite_loop.ipynb").read_text()
    kinds: dict[str, int] = {}
    own = dict.fromkeys(OWN_CODE, 0)
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        draw = rng.random()
        if 0 < number <= timeouts:
            kind, text = "infinite loop", loop
        elif number == 0 or draw < 0.30:
            kind, text = "correct", correct
        elif draw < 0.45:
            kind = rng.choice(OTHER_EXAMPLES)
            text = others[kind]
        else:
            text, names = correct, []
            mistakes = [rng.choice(list(COST_MISTAKES.items()))] if draw < 0.65 else []
            if draw >= 0.55:
                mistakes.append(rng.choice(list(BACKWARD_MISTAKES.items())))
            if rng.random() < 0.3:
                mistakes.append(rng.choice(list(DROPOUT_MISTAKES.items())))
            for name, (old, new) in mistakes:
                assert old in text, (name, old)
                text, names = text.replace(old, new, 1), [*names, name]
            kind = " + ".join(names)
        kinds[kind] = kinds.get(kind, 0) + 1
        notebook = json.loads(text)
        for function in make_own(notebook, number, rng, own_share):
            own[function] += 1
        notebook = pad(notebook, size_bytes, rng)
        (folder / f"student_{number:04d}.ipynb").write_text(json.dumps(notebook, indent=1))
    return kinds, own


class TreeMemory:
    """Samples the summed RSS (every `interval` seconds) and PSS (every tenth sample) of a process and its descendants.

    Cheap on purpose: it shares the machine it measures. The tree is walked through each
    process's `children` file rather than a scan of /proc, and PSS, which the kernel computes
    by walking page tables, is read less often than RSS (memory is flat during a batch).
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0
        self.peak_processes = 0
        self.cpu_seconds = 0.0  # what sampling cost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        tree, stack = [], [self.pid]
        while stack:
            pid = stack.pop()
            tree.append(pid)
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
            except OSError:
                continue
        return tree

    def _run(self) -> None:
        samples = 0
        while not self._stop.is_set():
            started = time.thread_time()
            rss = pss = 0
            tree = self._tree()
            for pid in tree:
                try:
                    with open(f"/proc/{pid}/statm") as statm:
                        rss += int(statm.read().split()[1]) * PAGE
                    if samples % 10 == 0:
                        with open(f"/proc/{pid}/smaps_rollup") as rollup:
                            pss += next(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Pss:"))
                except (OSError, StopIteration, ValueError):
                    continue
            self.peak_rss = max(self.peak_rss, rss)
            if samples % 10 == 0:
                self.peak_pss = max(self.peak_pss, pss)
            self.peak_processes = max(self.peak_processes, len(tree))
            samples += 1
            self.cpu_seconds += time.thread_time() - started
            self._stop.wait(self.interval)


def speed_index() -> float:
    """Milliseconds a fixed pure-Python loop takes right now (best of 5): a shared machine's speed varies."""
    best = math.inf
    for _ in range(5):
        started = time.perf_counter()
        sum(number * number for number in range(1_000_000))
        best = min(best, time.perf_counter() - started)
    return 1000 * best


def run_batch(grade: list[str], folder: Path, out: Path, jobs: int, timeout: float,
              formats: list[str] | None = None) -> dict:
    """Time one `grade DIR --out OUT --jobs N [--format F...]` and sample its memory."""
    # A fresh folder each run: deleting the last run's thousands of files right before would slow this one's writes.
    assert not out.exists(), out
    command = [*grade, str(folder), "--out", str(out), "--jobs", str(jobs), "--timeout", str(timeout), "--quiet",
               *(word for name in formats or () for word in ("--format", name))]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with TreeMemory(process.pid) as memory:
        _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    # Every process of the tree is reaped by its parent, so the children's usage covers all of them.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if process.returncode not in (0, 1):
        raise SystemExit(f"grade failed (exit {process.returncode}): {stderr.decode()[-2000:]}")
    rows = (out / "grades.csv").read_text().splitlines()[1:]
    return {"seconds": seconds, "graded": len(rows), "rss": memory.peak_rss, "pss": memory.peak_pss,
            "processes": memory.peak_processes, "cpu": cpu, "sampling": memory.cpu_seconds}


def time_nbclient(python: str, notebook: Path) -> float | None:
    """Execute one notebook whole with nbclient in a scratch folder where the course modules exist."""
    with tempfile.TemporaryDirectory() as scratch:
        for module in ("reg_utils", "testCases"):
            shutil.copy(ROOT / "reference" / "regularization" / "provided.py", Path(scratch) / f"{module}.py")
        shutil.copy(notebook, Path(scratch) / "one.ipynb")
        script = (
            "import sys, time, nbformat\n"
            "from nbclient import NotebookClient\n"
            "nb = nbformat.read('one.ipynb', as_version=4)\n"
            "started = time.perf_counter()\n"
            "NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': '.'}}).execute()\n"
            "print(time.perf_counter() - started)\n"
        )
        started = time.perf_counter()
        done = subprocess.run([python, "-c", script], cwd=scratch, capture_output=True, text=True)
        total = time.perf_counter() - started
        if done.returncode != 0:
            print(f"nbclient run failed: {done.stderr[-1500:]}")
            return None
        print(f"  nbclient execute(): {float(done.stdout.split()[-1]):.1f} s (with interpreter and kernel start: "
              f"{total:.1f} s)")
        return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grade", default=shutil.which("grade") or f"{sys.executable} -m grader",
                        help="the grade command to time (default: grade on PATH)")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--sizes", help="comma-separated batch sizes to time (default: --count)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--timeouts", type=int, default=0, help="how many notebooks never return (default 0)")
    parser.add_argument("--nbclient-python", help="a Python with nbclient, ipykernel and matplotlib installed")
    parser.add_argument("--own-share", type=float, help="share of notebooks whose graded functions are their "
                        "student's own (default: as measured on a real class, see OWN_CODE); 1 = every one: "
                        "the grader can reuse no run")
    parser.add_argument("--repeat", type=int, default=1, help="time each size this many times (default 1)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--format", action="append", dest="formats", metavar="NAME",
                        help="also write this --format for every notebook (repeatable; e.g. html, notebook)")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")] if arguments.sizes else [arguments.count]
    grade = arguments.grade.split()
    scratch = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        source = arguments.keep or scratch / "class"
        started = time.perf_counter()
        kinds, own = generate(source, max(sizes), arguments.timeouts, own_share=arguments.own_share)
        files = sorted(source.glob("*.ipynb"))
        megabytes = sum(path.stat().st_size for path in files) / 1e6
        print(f"generated {len(files)} notebooks, {megabytes / len(files) * 1000:.0f} KB each on average, "
              f"in {time.perf_counter() - started:.1f} s; kinds: {len(kinds)} "
              f"({kinds.get('correct', 0)} correct); the student's own code: "
              + ", ".join(f"{function} in {100 * number / len(files):.0f}%" for function, number in own.items()))
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before; grade = {arguments.grade}; "
              f"--jobs {arguments.jobs}" + "".join(f" --format {name}" for name in arguments.formats or ()))
        rates: dict[int, list[float]] = {}
        for size in sizes:
            folder = source
            if size != len(files):
                folder = scratch / f"first-{size}"
                folder.mkdir()
                for path in files[:size]:
                    os.symlink(path, folder / path.name)
            for attempt in range(arguments.repeat):
                loop_ms = speed_index()
                measured = run_batch(grade, folder, scratch / f"out-{size}-{attempt}", arguments.jobs,
                                     arguments.timeout, arguments.formats)
                assert measured["graded"] == size, measured
                rates.setdefault(size, []).append(size / measured["seconds"])
                cpu_each = 1000 * measured["cpu"] / size
                print(f"  {size:5d} notebooks: {measured['seconds']:6.2f} s, {size / measured['seconds']:6.1f} "
                      f"notebooks/s, {1000 * measured['seconds'] / size:5.1f} ms each; CPU {cpu_each:.1f} ms each "
                      f"(all processes; ceiling on {os.cpu_count()} idle CPUs: "
                      f"{1000 * (os.cpu_count() or 1) / cpu_each:.0f}/s); peak memory of the tree: RSS sum "
                      f"{measured['rss'] / 2**20:.0f} MiB, PSS sum {measured['pss'] / 2**20:.0f} MiB "
                      f"({measured['processes']} processes); sampling it took "
                      f"{100 * measured['sampling'] / measured['seconds']:.1f}% of a CPU; speed index {loop_ms:.0f} ms")
        if arguments.repeat > 1:
            for size, measured_rates in rates.items():
                print(f"  {size:5d} notebooks, {len(measured_rates)} runs: best {max(measured_rates):.1f}/s, "
                      f"median {statistics.median(measured_rates):.1f}/s, worst {min(measured_rates):.1f}/s")
        if arguments.nbclient_python:
            time_nbclient(arguments.nbclient_python, source / "student_0000.ipynb")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
