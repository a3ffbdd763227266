"""The batch benchmark's class is what it says: every mistake it names is put into the notebook, and it is graded as one."""
import importlib.util
import json
from pathlib import Path

import pytest

from grader.grade import Grader

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_batch", ROOT / "tests" / "benchmarks" / "bench_batch.py")
bench_batch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_batch)
MISTAKES = {**bench_batch.COST_MISTAKES, **bench_batch.BACKWARD_MISTAKES, **bench_batch.DROPOUT_MISTAKES}


@pytest.fixture(scope="module")
def grader():
    with Grader("regularization") as grader:
        yield grader


@pytest.mark.parametrize("name", MISTAKES)
def test_each_generated_mistake_costs_points(grader, tmp_path, name):
    old, new = MISTAKES[name]
    text = (ROOT / "submissions_example" / "correct.ipynb").read_text()
    assert text.count(old) >= 1, f"the benchmark's mistake {name!r} no longer applies to correct.ipynb"
    notebook = tmp_path / "mistake.ipynb"
    notebook.write_text(text.replace(old, new, 1))
    result = grader.grade(notebook)
    assert result.score < result.max_score, f"{name}: full marks for a notebook with the mistake"


def test_generated_class_has_every_kind(tmp_path):
    kinds, own = bench_batch.generate(tmp_path, 120, size_bytes=2_000)
    assert sum(kinds.values()) == 120 and len(list(tmp_path.glob("*.ipynb"))) == 120
    assert any("dropout" in kind for kind in kinds) and kinds["correct"] > 0
    assert all(count > 0 for count in own.values()), own
    assert all(json.loads(path.read_text())["cells"] for path in tmp_path.glob("*.ipynb"))
