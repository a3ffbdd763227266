"""grader: grade numerical notebook assignments and explain each mistake.

Public API: `Grader` grades submissions against an assignment; results are
`SubmissionResult` records, rendered by the `RENDERERS` (by format name) or `to_json`.
The pipeline's stages are subpackages (DESIGN.md §2): `extract`, `sandbox`, `checks`,
`diagnose`, then `scoring` and `feedback`; `grade` wires them, `batch` and `cli` sit on top,
`records` and `assignment.model` at the bottom. Assignment code imports `grader.authoring`.
"""
import os

# Student code runs in forked children on tiny arrays: BLAS thread pools only add start-up
# time and threads that a fork cannot carry. Set before numpy is first imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

__version__ = "0.1.0"

from grader.errors import GraderError, InternalError, SpecError, UsageError  # noqa: E402
from grader.feedback import RENDERERS  # noqa: E402
from grader.feedback.result_json import to_json  # noqa: E402
from grader.grade import Grader  # noqa: E402
from grader.records import ExerciseResult, Limits, SubmissionResult  # noqa: E402

__all__ = [
    "ExerciseResult",
    "Grader",
    "GraderError",
    "InternalError",
    "Limits",
    "RENDERERS",
    "SpecError",
    "SubmissionResult",
    "UsageError",
    "__version__",
    "to_json",
]
