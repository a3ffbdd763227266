"""What an assignment's own code imports: the records its detectors read and write, and the numeric fits.

An instructor's `mistakes.py` (see the built-in assignments in `reference/`) recognises a mistake
from the numbers alone:

    from grader.authoring import Detection, Exercise, Trial, detects, factor

    @detects("cost.l2-missing")
    def penalty_missing(exercise: Exercise, trials: Sequence[Trial]) -> list[Detection]:
        ...

or, more simply, writes the wrong function itself (in a `mistakes.py` the spec lists under `variants:`),
which then detects its mistake (a student whose outputs are the variant's, wherever it differs from the
reference):

    from grader.authoring import variant

    @variant("ridge.no-average", points_at=("grad",))
    def forgets_the_average(X, y, w, alpha):
        return X.T @ (X @ w - y) + alpha * w

Everything here is stable for assignment code; the rest of the grader is not.
"""
from grader.assignment.model import Exercise, Probe
from grader.diagnose.detectors import Detector, detects
from grader.diagnose.fits import ABSOLUTE, POWERS, RELATIVE, describe_factor, factor, is_zero, power_law, same
from grader.diagnose.variants import variant
from grader.records import Detection, Outputs, Trial

__all__ = [
    "ABSOLUTE", "POWERS", "RELATIVE", "Detection", "Detector", "Exercise", "Outputs", "Probe", "Trial",
    "describe_factor", "detects", "factor", "is_zero", "power_law", "same", "variant",
]
