"""The instructor's commands: `grade init` scaffolds an assignment that `grade check-spec` accepts and `grade`
grades with at once; check-spec passes the built-ins and fails a weak spec, naming what it cannot separate."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.assignment import catalog

from conftest import ROOT, write_notebook


def run(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *arguments], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


RIGHT = "def ridge_gradient(X, y, w, alpha):\n    m = X.shape[0]\n    return X.T @ (X @ w - y) / m + alpha * w\n"
NO_AVERAGE = "def ridge_gradient(X, y, w, alpha):\n    grad = X.T @ (X @ w - y) + alpha * w\n    return grad\n"


@pytest.fixture
def scaffolded(tmp_path) -> Path:
    done = run("init", str(tmp_path / "ridge"))
    assert done.returncode == 0, done.stderr
    return tmp_path / "ridge"


def test_init_writes_a_commented_assignment_that_check_spec_accepts(scaffolded):
    assert sorted(path.name for path in scaffolded.iterdir()) == [
        "assignment.yaml", "mistakes.py", "probes.py", "solution.py"]
    assert all("#" in path.read_text() or '"""' in path.read_text() for path in scaffolded.iterdir())
    done = run("check-spec", str(scaffolded))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{scaffolded}: adequate" in done.stdout
    assert "✓ ridge.no-average (forgets_the_average)" in done.stdout and "✗" not in done.stdout


def test_the_scaffold_grades_a_notebook_at_once(scaffolded, tmp_path):
    right = write_notebook(tmp_path / "right.ipynb", "import numpy as np", RIGHT)
    done = run(str(right), "--assignment", str(scaffolded), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["score"] == 4
    wrong = write_notebook(tmp_path / "wrong.ipynb", "import numpy as np", NO_AVERAGE)
    result = json.loads(run(str(wrong), "--assignment", str(scaffolded), "--format", "json").stdout)
    (finding,) = result["exercises"][0]["findings"]
    assert finding["id"] == "ridge.no-average" and finding["location"]["code"].startswith("grad = X.T @")


def test_init_refuses_a_folder_that_is_not_empty(scaffolded):
    done = run("init", str(scaffolded))
    assert done.returncode == 2 and "already exists" in done.stderr


@pytest.mark.parametrize("name", catalog.builtin_names())
def test_every_built_in_assignment_is_adequate(name):
    done = run("check-spec", name, "--format", "json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["passed"], json.dumps(report, indent=1, ensure_ascii=False)[-4000:]
    assert report["schema"] == "grader.check-spec/1" and report["assignment"] == name


WEAK_PROBES = '''\
import numpy as np


def probes():
    rng = np.random.default_rng(0)
    return [{"name": "square X (3x3), no penalty", "arguments": (rng.standard_normal((3, 3)),
             rng.standard_normal((3, 1)), rng.standard_normal((3, 1)), 0.0)}]
'''
DROPS_THE_PENALTY = '''

@variant("ridge.penalty-missing")
def drops_the_penalty(X, y, w, alpha):
    return X.T @ (X @ w - y) / X.shape[0]
'''


def test_a_weak_spec_fails_naming_the_pairs_its_probes_cannot_separate(scaffolded):
    (scaffolded / "probes.py").write_text(WEAK_PROBES)  # one probe, square shapes only, α = 0 only
    (scaffolded / "mistakes.py").write_text((scaffolded / "mistakes.py").read_text() + DROPS_THE_PENALTY)
    spec = (scaffolded / "assignment.yaml").read_text()
    spec = spec.replace("mistakes: [ridge.no-average, ridge.penalty-doubled]",
                        "mistakes: [ridge.no-average, ridge.penalty-doubled, ridge.penalty-missing]")
    spec += '  ridge.penalty-missing:\n    title: "No penalty"\n    explanation: "J has (α/2)·‖w‖²."\n    fix: ""\n'
    (scaffolded / "assignment.yaml").write_text(spec)
    done = run("check-spec", str(scaffolded))
    assert done.returncode == 1, done.stdout + done.stderr
    text = done.stdout
    assert f"{scaffolded}: NOT adequate" in text
    assert "ridge.penalty-doubled (doubles_the_penalty)  ≡  ridge.penalty-missing (drops_the_penalty)" in text
    for failure in ("✗ probes", "✗ shapes: non-square 2-D arrays", "✗ sizes", "✗ hyper-parameter alpha",
                    "✗ ridge.penalty-doubled (doubles_the_penalty)"):
        assert failure in text, failure
    assert "warning: mistakes.ridge.penalty-missing: an explanation without a fix" in text
    report = json.loads(run("check-spec", str(scaffolded), "--format", "json").stdout)
    (exercise,) = report["exercises"]
    assert exercise["indistinguishable"] == [["ridge.penalty-doubled (doubles_the_penalty)",
                                              "ridge.penalty-missing (drops_the_penalty)"]]


def test_check_spec_of_a_broken_spec_is_a_spec_error_naming_the_key(scaffolded):
    spec = scaffolded / "assignment.yaml"
    spec.write_text(spec.read_text().replace("solution.py:ridge_gradient", "solution.py:no_such_function"))
    done = run("check-spec", str(scaffolded))
    assert done.returncode == 2 and "exercises[0].reference" in done.stderr and "no_such_function" in done.stderr


def test_a_detector_that_misses_its_own_variant_fails_check_spec(scaffolded):
    (scaffolded / "detectors.py").write_text(
        "from grader.authoring import detects\n\n\n@detects('ridge.no-average')\n"
        "def never(exercise, trials):\n    return []\n")
    spec = scaffolded / "assignment.yaml"
    spec.write_text(spec.read_text().replace("variants: [mistakes.py]", "variants: [mistakes.py]\n"
                                                                           "detectors: [detectors.py]"))
    done = run("check-spec", str(scaffolded))
    assert done.returncode == 1
    assert "✗ detector of ridge.no-average (forgets_the_average)  does not recognise the variant's numbers" \
        in done.stdout
