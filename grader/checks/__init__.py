"""Scored checks: pure functions of the trials (reference vs. student on every probe).

`registry` holds the registry and `run_check`; each kind of check lives in its own module and
registers itself when imported here: `values` (kind of value, outputs, baseline part, added
term), `gradient` (numerical gradient check), `inputs` (arguments left unchanged), `draws` (a
function's own random draws). `outputs`
splits a returned value into named arrays and compares them.
"""
from grader.checks import draws, gradient, inputs, values  # noqa: F401 - each registers its checks
from grader.checks.registry import CHECKS, CheckContext, CheckDefinition, Reference, check, run_check

__all__ = ["CHECKS", "CheckContext", "CheckDefinition", "Reference", "check", "run_check"]
