"""Diagnose: explain each wrong output by its cause, from the numbers, and point at the student's line.

`engine` orders the work (failures, causes, generic descriptions), `detectors` is the registry
of detectors (assignments bring their own), `causes` groups detections into causes, `describe`
writes catalogue-free descriptions, `locate` finds the lines, `prose` words the findings,
`messages` holds the generic prose, `fits` the numeric fits detectors use.
"""
from grader.diagnose.engine import diagnose, run_detectors

__all__ = ["diagnose", "run_detectors"]
