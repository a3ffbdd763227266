"""grader: grade numerical notebook assignments and explain each mistake.

Public API: `Grader` grades submissions against an assignment; results are
`SubmissionResult` records, rendered by `render` functions or `to_json`.
"""
import os

# Student code runs in forked children on tiny arrays: BLAS thread pools only add start-up
# time and threads that a fork cannot carry. Set before numpy is first imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

__version__ = "0.1.0"

from grader.errors import GraderError, InternalError, SpecError, UsageError  # noqa: E402
from grader.grade import Grader  # noqa: E402
from grader.render import RENDERERS  # noqa: E402
from grader.result import ExerciseResult, SubmissionResult, to_json  # noqa: E402
from grader.sandbox import Limits  # noqa: E402

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
