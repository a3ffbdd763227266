"""Batch grading end to end: parallel, sharded and merged, killed and resumed — always the same bytes."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.batch.outdir import Entry, parse_shard, select_shard, submission_ids
from grader.errors import ResultFileError, UsageError
from grader.feedback.result_json import from_json, to_json

from conftest import EXAMPLES, ROOT, write_notebook

TIMEOUT = "3"
QUICK_EXAMPLES = sorted(path for path in EXAMPLES.glob("*.ipynb") if path.stem != "infinite_loop")


def grade(*arguments: str, timeout: str = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *arguments, "--timeout", timeout], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def merge(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "merge", *arguments], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by relative path, with its bytes."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file()}


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> Path:
    """A class of 14 submissions in two sections with clashing file names (the examples, twice)."""
    root = tmp_path_factory.mktemp("classroom")
    for section in ("section-a", "section-b"):
        (root / section).mkdir()
        for example in QUICK_EXAMPLES:
            shutil.copy(example, root / section / example.name)
    return root


@pytest.fixture(scope="module")
def reference_run(classroom, tmp_path_factory) -> Path:
    """The classroom graded once, uninterrupted, with two jobs."""
    out = tmp_path_factory.mktemp("reference") / "out"
    done = grade(str(classroom), "--out", str(out), "--jobs", "2", "--format", "junit")
    assert done.returncode == 0, done.stderr
    return out


def test_a_batch_writes_every_result_and_the_class_files(classroom, reference_run):
    files = snapshot(reference_run)
    ids = [f"section-{s}/{example.stem}" for s in "ab" for example in QUICK_EXAMPLES]
    for submission_id in ids:
        result = json.loads(files[f"{submission_id}.json"])
        assert result["schema"] == "grader.result/1" and result["grading"]["timeout_seconds"] == 3.0
        assert f"{submission_id}.md" in files and f"{submission_id}.txt" not in files  # text was not asked for
    rows = files["grades.csv"].decode().splitlines()
    assert rows[0] == ("id,path,score,max_score,status,compute_cost_with_regularization,"
                       "backward_propagation_with_regularization,forward_propagation_with_dropout,"
                       "backward_propagation_with_dropout,findings")
    assert [row.split(",")[0] for row in rows[1:]] == ids  # input order, whatever order they finished in
    assert {"summary.md", "summary.html", "junit.xml", "manifest.json"} <= set(files)
    page = files["summary.html"].decode()
    assert all(f'<a href="{submission_id}.md">md</a> · <a href="{submission_id}.json">json</a>' in page
               for submission_id in ids)  # each student's own files, next to the page


def test_jobs_1_jobs_2_and_four_merged_shards_write_the_same_bytes(classroom, reference_run, tmp_path):
    single = tmp_path / "jobs1"
    assert grade(str(classroom), "--out", str(single), "--jobs", "1", "--format", "junit").returncode == 0
    shards = []
    for number in range(1, 5):
        shards.append(tmp_path / f"shard{number}")
        done = grade(str(classroom), "--out", str(shards[-1]), "--shard", f"{number}/4", "--format", "junit")
        assert done.returncode == 0, done.stderr
    sizes = [len(json.loads((shard / "manifest.json").read_text())["submissions"]) for shard in shards]
    total = 2 * len(QUICK_EXAMPLES)  # two sections
    assert sizes == [total // 4 + (number < total % 4) for number in range(4)]
    merged = tmp_path / "merged"
    done = merge(*map(str, reversed(shards)), "--out", str(merged))  # the order of the folders does not matter
    assert done.returncode == 0, done.stderr
    expected = snapshot(reference_run)
    assert snapshot(single) == expected
    assert snapshot(merged) == expected


def test_sigkill_at_any_moment_then_resume_gives_the_same_bytes(classroom, reference_run, tmp_path):
    out = tmp_path / "out"
    total = len(QUICK_EXAMPLES) * 2
    command = [sys.executable, "-m", "grader", str(classroom), "--out", str(out), "--jobs", "2", "--format",
               "junit", "--timeout", TIMEOUT]
    for kill_after in (2, 6):  # kill the first run early, then kill the resumed one too
        process = subprocess.Popen([*command, "--resume"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(list(out.rglob("*.json"))) < kill_after + 1 and time.monotonic() < deadline:  # +1: manifest
            time.sleep(0.002)
        os.kill(process.pid, signal.SIGKILL)  # the main process only: its grading processes must go by themselves
        process.wait()
        graded = len(list(out.rglob("*.json"))) - 1
        assert kill_after <= graded < total, "the kill must land in the middle of the batch"
        assert not (out / "grades.csv").exists()
    done = subprocess.run([*command, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "already graded, resuming" in done.stderr
    assert snapshot(out) == snapshot(reference_run)


def test_resume_regrades_only_what_changed(classroom, tmp_path):
    folder = tmp_path / "class"
    shutil.copytree(classroom / "section-a", folder)
    out = tmp_path / "out"
    assert grade(str(folder), "--out", str(out), "--quiet").returncode == 0
    assert list(out.glob("*.md")) and not list(out.glob("*.txt"))  # JSON and Markdown unless a format is asked
    stamps = {path.name: path.stat().st_mtime_ns for path in out.glob("*.json")}
    shutil.copy(EXAMPLES / "np_sum_mistake.ipynb", folder / "correct.ipynb")  # a new version of one submission
    done = grade(str(folder), "--out", str(out), "--resume")
    assert done.returncode == 0, done.stderr
    changed = {path.name for path in out.glob("*.json") if path.stat().st_mtime_ns != stamps[path.name]}
    assert changed == {"correct.json", "manifest.json"}
    assert json.loads((out / "correct.json").read_text())["score"] < 16
    # Another time limit can change results: nothing is reused.
    done = grade(str(folder), "--out", str(out), "--resume", "--quiet", timeout="4")
    results = [path for path in out.glob("*.json") if path.name != "manifest.json"]
    assert done.returncode == 0 and all(json.loads(path.read_text())["grading"]["timeout_seconds"] == 4
                                        for path in results)


def test_a_reused_out_folder_says_which_results_are_not_in_the_input_and_clean_removes_only_those(tmp_path):
    folder = tmp_path / "class"
    (folder / "old").mkdir(parents=True)
    for name in ("a.ipynb", "b.ipynb", "old/c.ipynb"):
        shutil.copy(EXAMPLES / "correct.ipynb", folder / name)
    out = tmp_path / "out"
    assert grade(str(folder), "--out", str(out), "--quiet").returncode == 0
    (out / "notes.json").write_text('{"mine": true}')  # the instructor's own files: never touched
    (out / "README.md").write_text("# my notes")
    (folder / "b.ipynb").unlink()
    shutil.rmtree(folder / "old")
    done = grade(str(folder), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert (f"{out} also holds the results of 2 submissions (b, old/c) not in this run's input: kept" in done.stderr
            and "add --clean" in done.stderr)
    assert [row.split(",")[0] for row in (out / "grades.csv").read_text().splitlines()] == ["id", "a"]
    assert (out / "b.json").is_file() and (out / "old" / "c.md").is_file()
    done = grade(str(folder), "--out", str(out), "--quiet", "--clean")
    assert done.returncode == 0 and "removed from" in done.stderr and "2 submissions (b, old/c)" in done.stderr
    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("*")) == [
        "README.md", "a.json", "a.md", "grades.csv", "manifest.json", "notes.json", "summary.html", "summary.md"]
    done = grade(str(folder), "--out", str(out), "--quiet")
    assert done.returncode == 0 and done.stderr == ""
    assert grade(str(folder / "a.ipynb"), "--clean").returncode == 2  # nothing to clean without --out


def test_broken_and_hostile_submissions_never_stop_the_batch(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(EXAMPLES / "correct.ipynb", folder / "a_correct.ipynb")
    shutil.copy(EXAMPLES / "infinite_loop.ipynb", folder / "b_loop.ipynb")
    (folder / "c_garbage.ipynb").write_bytes(b"\x00\xff not a notebook")
    # Kills the process that grades it (the sandbox worker's parent), from inside the student's function.
    write_notebook(folder / "d_killer.ipynb", "import os, signal\n"
                   "def compute_cost_with_regularization(A3, Y, parameters, lambd):\n"
                   "    worker = os.getppid()\n"
                   "    with open(f'/proc/{worker}/stat') as stat:\n"
                   "        grader = int(stat.read().rsplit(')', 1)[1].split()[1])\n"
                   "    os.kill(grader, signal.SIGKILL)\n"
                   "    return 0.0\n")
    shutil.copy(EXAMPLES / "np_sum_mistake.ipynb", folder / "e_sum.ipynb")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader", str(folder), "--out", str(out), "--jobs", "2",
                           "--timeout", "1"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    rows = {row.split(",")[0]: row.split(",") for row in (out / "grades.csv").read_text().splitlines()[1:]}
    # Where the sandbox keeps a child from signalling the grader, the killer is one more failed student;
    # where no layer does (no seccomp, no Landlock scope, children that stay the grader's user), it is a
    # grader failure of its own submission only.
    layers = set(json.loads((out / "a_correct.json").read_text())["sandbox"])
    contained = bool(layers & {"seccomp", "landlock-scope", "unprivileged-user"})
    assert done.returncode == (0 if contained else 3), done.stderr
    assert set(rows) == {"a_correct", "b_loop", "c_garbage", "d_killer", "e_sum"}
    assert rows["a_correct"][2] == "16" and rows["e_sum"][2] == "15.42"
    assert rows["b_loop"][4] == "failed" and "timeout" in rows["b_loop"][-1]
    assert rows["c_garbage"][4] == "error"
    killer = json.loads((out / "d_killer.json").read_text())
    if contained:
        assert rows["d_killer"][4] == "failed" and killer["exercises"][0]["findings"][0]["id"] == "exception"
    else:
        assert rows["d_killer"][4] == "grader-failure" and "grader-failure" == killer["errors"][0]["kind"]
        assert "d_killer" in done.stderr


def test_a_batch_says_how_many_submissions_matched_no_graded_function(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(EXAMPLES / "correct.ipynb", folder / "a_correct.ipynb")
    write_notebook(folder / "b_other.ipynb", "def initialize_parameters_he(layers_dims):\n    return {}")
    write_notebook(folder / "c_empty.ipynb", ("markdown", "nothing here"))
    out = tmp_path / "out"
    done = grade(str(folder), "--out", str(out), "--jobs", "2", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "of 3 submissions, 2 submissions (b_other, c_empty) matched no graded function" in done.stderr
    summary = (out / "summary.md").read_text()
    assert "2 matched no graded function" in summary
    assert "| `b_other` | no function of assignment 'regularization' is defined here" in summary
    assert "it defines no function at all" in summary and "matched no graded function" in (out / "summary.html").read_text()
    printed = grade(str(folder / "a_correct.ipynb"), str(folder / "b_other.ipynb"), "--format", "json")
    assert "1 submission (b_other) matched no graded function" in printed.stderr


def test_a_grading_process_that_dies_or_fails_costs_only_its_submission(tmp_path):
    from grader.assignment.catalog import find_assignment
    from grader.batch.grading import GradingSetup
    from grader.batch.pool import GradingPool
    from grader.records import Limits

    def sabotage(result):  # a renderer runs in the grading process: it can take that process down
        if "die" in result.path:
            os.kill(os.getpid(), signal.SIGKILL)
        if "fail" in result.path:
            raise RuntimeError("a bug in the grader")
        return "fine"

    names = ["a", "die", "b", "fail", "c", "d"]
    for name in names:
        shutil.copy(EXAMPLES / "correct.ipynb", tmp_path / f"{name}.ipynb")
    entries = [Entry(index, name, str(tmp_path / f"{name}.ipynb")) for index, name in enumerate(names)]
    setup = GradingSetup(str(find_assignment("regularization").folder), Limits(wall_seconds=3), {"check": sabotage})
    with GradingPool(setup, 2) as pool:
        assert pool.start().name == "regularization"
        done = {graded.entry.id: graded for graded in pool.grade(entries)}
    assert set(done) == set(names)
    assert done["die"].failure.startswith("the grading process died (killed by signal 9")
    assert done["fail"].failure == "RuntimeError: a bug in the grader"
    for name in ("a", "b", "c", "d"):
        assert done[name].failure is None and done[name].texts["check"] == "fine" and done[name].score == 16
    with pytest.raises(ChildProcessError):  # every grading process (and its sandbox worker) was reaped
        os.waitpid(-1, os.WNOHANG)


def test_several_paths_print_json_lines_in_input_order():
    done = grade(*map(str, QUICK_EXAMPLES), "--format", "json", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["submission"]["path"] for line in done.stdout.splitlines()] == \
        [str(path) for path in QUICK_EXAMPLES]


def test_min_score_sets_the_exit_status_of_a_batch_and_of_a_merge(classroom, reference_run, tmp_path):
    section = str(classroom / "section-a")
    assert grade(section, "--out", str(tmp_path / "a"), "--quiet", "--min-score", "0").returncode == 0
    assert grade(section, "--out", str(tmp_path / "b"), "--quiet", "--min-score", "80%").returncode == 1
    assert grade(section, "--quiet", "--min-score", "lots").returncode == 2
    assert merge(str(reference_run), "--out", str(tmp_path / "m"), "--min-score", "100%").returncode == 1
    done = merge(str(reference_run), "--out", str(tmp_path / "m"), "--min-score", "16.01")
    assert done.returncode == 2 and "above the maximum score (16)" in done.stderr


def test_merge_refuses_an_incomplete_set_of_shards(classroom, reference_run, tmp_path):
    shards = [tmp_path / f"shard{number}" for number in (1, 2)]
    for number, shard in enumerate(shards, start=1):
        assert grade(str(classroom), "--out", str(shard), "--shard", f"{number}/3", "--quiet").returncode == 0
    done = merge(*map(str, shards), "--out", str(tmp_path / "merged"))
    total = 2 * len(QUICK_EXAMPLES)
    covered = sum(len(json.loads((shard / "manifest.json").read_text())["submissions"]) for shard in shards)
    assert done.returncode == 2 and f"cover {covered} of {total} submissions" in done.stderr
    done = merge(str(tmp_path / "nothing"), "--out", str(tmp_path / "merged"))
    assert done.returncode == 2 and "manifest.json" in done.stderr
    # Sets that cover every submission, some twice: refused too.
    shutil.copytree(shards[0], tmp_path / "shard1-again")
    shutil.copytree(reference_run, tmp_path / "whole-again")
    for folders, message in [
        ([reference_run, reference_run], f"{reference_run} is given twice"),
        ([reference_run, tmp_path / "whole-again"], "are both whole runs"),
        ([shards[0], tmp_path / "shard1-again", shards[1]], "are both shard 1/3"),
        ([reference_run, shards[0]], f"{reference_run} is a whole run (not a --shard run)"),
    ]:
        done = merge(*map(str, folders), "--out", str(tmp_path / "merged"))
        assert done.returncode == 2 and message in done.stderr, (folders, done.stderr)


@pytest.mark.parametrize("arguments, message", [
    (["--shard", "5/4"], "--shard must be K/N"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--resume"], "--resume needs --out"),
    (["--min-score", "17"], "--min-score 17 is above the maximum score (16)"),
])
def test_bad_batch_options_exit_2(arguments, message):
    done = grade(str(EXAMPLES / "correct.ipynb"), str(EXAMPLES / "np_sum_mistake.ipynb"), *arguments)
    assert done.returncode == 2 and message in done.stderr


# ---- pure parts ------------------------------------------------------------------------------


def test_ids_are_relative_paths_and_never_collide():
    paths = ["subs/alice/hw.ipynb", "subs/bob/hw.ipynb", "subs/bob/hw.py", "subs/summary.ipynb",
             "subs/results.ipynb"]
    assert submission_ids(paths) == ["alice/hw", "bob/hw", "bob/hw.py", "summary.ipynb", "results.ipynb"]
    assert submission_ids(["only.ipynb"]) == ["only"]


def test_shards_cover_every_submission_exactly_once():
    entries = [Entry(index, str(index), f"{index}.ipynb") for index in range(10)]
    chosen = [entry.index for number in range(1, 4) for entry in select_shard(entries, (number, 3))]
    assert sorted(chosen) == list(range(10))
    assert parse_shard("2/3") == (2, 3)
    for text in ("0/3", "4/3", "2", "a/b"):
        with pytest.raises(UsageError):
            parse_shard(text)


def test_from_json_rebuilds_the_result_exactly_and_rejects_malformed_data():
    done = grade(str(EXAMPLES / "np_sum_mistake.ipynb"), "--format", "json")
    document = json.loads(done.stdout)
    assert to_json(from_json(document), document["grader_version"]) == document
    for broken in ({**document, "schema": "other/1"}, {**document, "score": "9"}, {**document, "score": True},
                   {**document, "exercises": [{"function": "f"}]}, {**document, "sandbox_user": 3}, [], None):
        with pytest.raises(ResultFileError):
            from_json(broken)
