"""`grade init NAME`: a new assignment folder an instructor edits, which works as it stands.

The scaffold grades one function, `ridge_gradient` (the gradient of a ridge-regression cost),
so that every part of a spec has a working example: probes that vary shapes, sizes and α
(0 among them), a baseline call with α = 0, a numerical gradient check, and two mistakes,
each written as a wrong version of the function that also recognises it. `grade check-spec`
accepts it and `grade --assignment NAME` grades a notebook defining `ridge_gradient` at once.
"""
from __future__ import annotations

import re
from pathlib import Path

from grader.errors import UsageError

SPEC = '''\
# The assignment "{name}", started with `grade init`. Every key is explained in docs/authoring.md;
# `grade check-spec {folder}` tells whether the probes can tell its mistakes apart.
name: {name}
title: "{name}: the gradient of a ridge-regression cost"
# Wrong versions of the graded function, one per mistake: each recognises its mistake in a student's numbers.
variants: [mistakes.py]

exercises:
  - function: ridge_gradient
    title: "Gradient of the ridge cost"
    # The order the grader passes the arguments in; students may name them otherwise.
    parameters: [X, y, w, alpha]
    points: 4
    reference: solution.py:ridge_gradient
    probes: probes.py:probes
    # One array, called grad in the feedback.
    returns: array
    keys: [grad]
    # Each probe is also run with alpha = 0, so the penalty's part and the rest are judged apart.
    baseline: {{alpha: 0.0}}
    tolerance: {{rtol: 1.0e-6, atol: 1.0e-9}}
    # The mistakes this exercise can report (prose below, variants in mistakes.py).
    mistakes: [ridge.no-average, ridge.penalty-doubled]
    checks:
      - {{check: returns, title: "returns an array shaped like w", points: 1}}
      - {{check: baseline-values, title: "gradient of the squared error (α = 0)", points: 1}}
      - {{check: added-term-values, title: "gradient of the penalty, α·w", points: 1}}
      - check: gradient
        title: "numerical gradient check"
        points: 1
        options:
          cost: "solution.py:ridge_cost"
          gradients: {{w: grad}}

mistakes:
  # What the student reads: a title, why it is wrong (the math) and how to fix it.
  ridge.no-average:
    title: "The squared error is not averaged"
    explanation: >-
      The cost averages the squared error over the m examples, J = (1/2m)·‖Xw − y‖² + (α/2)·‖w‖², so its
      gradient is (1/m)·Xᵀ(Xw − y) + α·w. Without the 1/m, the first part is m times too big.
    fix: "Divide Xᵀ(Xw − y) by m = X.shape[0]."
  ridge.penalty-doubled:
    title: "The penalty's gradient is doubled"
    explanation: >-
      The penalty is (α/2)·‖w‖², whose gradient is α·w: the ½ cancels the 2 of the square.
    fix: "Add alpha * w, not 2 * alpha * w."
'''

SOLUTION = '''\
"""The reference solution: what a right answer computes. Students never see this file."""
import numpy as np


def ridge_gradient(X, y, w, alpha):
    """The gradient of J(w) = (1/2m)·‖Xw − y‖² + (α/2)·‖w‖², for X of shape (m, n), y (m, 1), w (n, 1)."""
    m = X.shape[0]
    return X.T @ (X @ w - y) / m + alpha * w


def ridge_cost(X, y, w, alpha):
    """For the numerical gradient check: the parameters, and the cost as their function."""
    def cost(parameters):
        m = X.shape[0]
        residual = X @ parameters["w"] - y
        return float(np.sum(residual ** 2) / (2 * m) + alpha / 2 * np.sum(parameters["w"] ** 2))

    return {"w": np.array(w, dtype=float)}, cost
'''

PROBES = '''\
"""The inputs every submission is called on: seeded, so every run gives the same numbers.

Vary what mistakes hide in: square and non-square X (a transpose is silent on a square one),
several sizes (m = 1 among them), several α (0, the neutral value, among them).
"""
import numpy as np

# (m examples, n features, α): names say what each probe is there for.
_LAYOUTS = [
    ("5 examples, 3 features", 5, 3, 0.7),
    ("square X (4x4)", 4, 4, 1.5),
    ("one example", 1, 3, 0.3),
    ("no penalty, 7 examples", 7, 2, 0.0),
]


def probes():
    """One probe per layout: {"name": ..., "arguments": (X, y, w, alpha)}."""
    found = []
    for seed, (name, m, n, alpha) in enumerate(_LAYOUTS):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((m, n))
        y = rng.standard_normal((m, 1))
        w = rng.standard_normal((n, 1))
        found.append({"name": name, "arguments": (X, y, w, alpha)})
    return found
'''

MISTAKES = '''\
"""The mistakes, each as a wrong version of the graded function.

A variant takes the same arguments as the reference. The grader reports its mistake when a
student's outputs are the variant's on every probe, wherever it differs from the reference;
`grade check-spec` checks that the probes tell each variant from the reference and from the
others. `points_at` names the variables whose lines the finding quotes.
"""
from grader.authoring import variant


@variant("ridge.no-average", points_at=("grad",))
def forgets_the_average(X, y, w, alpha):
    return X.T @ (X @ w - y) + alpha * w


@variant("ridge.penalty-doubled", points_at=("grad",))
def doubles_the_penalty(X, y, w, alpha):
    m = X.shape[0]
    return X.T @ (X @ w - y) / m + 2 * alpha * w
'''

FILES = {"assignment.yaml": SPEC, "solution.py": SOLUTION, "probes.py": PROBES, "mistakes.py": MISTAKES}


def scaffold(folder: Path) -> list[Path]:
    """Write a new assignment into `folder` (its name is the assignment's); returns the files written.

    Raises:
        UsageError: The folder exists and is not empty, or its name cannot name an assignment.
    """
    name = folder.resolve().name
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name):
        raise UsageError(f"{name!r} cannot name an assignment: use letters, digits, '_' and '-', starting with a "
                         "letter")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"{folder} already exists and is not an empty folder: choose a new name")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, template in FILES.items():
        path = folder / file_name
        path.write_text(template.format(name=name, folder=folder) if file_name == "assignment.yaml" else template,
                        encoding="utf-8")
        written.append(path)
    return written
