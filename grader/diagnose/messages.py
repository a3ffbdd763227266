"""The engine's generic prose for the findings any graded function can have, in no course's words.

Each entry: a title, an explanation and a fix; `{placeholders}` are filled by the diagnosis.
An assignment words any of them its own way, with its course's examples, under the same id in
its spec's `mistakes:`.
"""
from __future__ import annotations

from grader.assignment.model import MistakeText

GENERAL_MISTAKES: dict[str, MistakeText] = {
    "function-not-found": MistakeText(
        "Function not found",
        "The notebook has no function named `{function}`{near_misses}.",
        "Define `{function}` with exactly this name in a code cell.",
    ),
    "syntax-error": MistakeText(
        "The cell does not parse",
        "Python cannot read the cell that defines `{function}`: {message}. Nothing in that cell can run.",
        "Fix the line shown (often an unclosed bracket or a line left half-written), then re-run the cell.",
    ),
    "not-implemented": MistakeText(
        "Template not filled in",
        "`{function}` is not finished: {what}.",
        "Write the code the template asks for on the line shown (and on every other unfinished line).",
    ),
    "exception": MistakeText(
        "The function raised an error",
        "Calling `{function}` raised `{error}`.",
        "Read the error on the line shown; run the cell's test to reproduce it.",
    ),
    "uses-notebook-global": MistakeText(
        "Uses a variable from outside the function",
        "`{function}` reads `{names}`, which only exists at the top level of your notebook. The grader calls "
        "your function on its own inputs, where that variable does not exist (and in the notebook it may hold "
        "stale values).",
        "Compute `{names}` inside the function from its arguments.",
    ),
    "timeout": MistakeText(
        "Took too long",
        "`{function}` {message}: probably a loop that never ends.",
        "Look at the loop on the line shown: its condition must become false.",
    ),
    "memory-limit": MistakeText(
        "Used too much memory",
        "`{function}` {message}.",
        "Look for an array far bigger than the inputs (e.g. an outer product or a broadcast of two long vectors).",
    ),
    "output-limit": MistakeText(
        "Printed too much",
        "`{function}` {message}.",
        "Remove the print calls from the graded function.",
    ),
    "crashed": MistakeText(
        "The function stopped the process",
        "Running `{function}` ended the process without returning ({message}).",
        "Remove calls like `exit()`, `os._exit()` or `quit()` from the function.",
    ),
    "mutates-inputs": MistakeText(
        "Changes its inputs",
        "`{function}` changes {names} in place, so the caller's values change.",
        "Work on new arrays: write `x = x ** 2` or `np.square(x)` instead of `x **= 2` or `out=x`.",
    ),
    "wrong-type": MistakeText(
        "Returns the wrong kind of value",
        "`{function}` {problem}.",
        "Return {expected}, as the docstring describes.",
    ),
    "nan-or-inf": MistakeText(
        "Returns NaN or infinity",
        "Some entries of {names} are NaN or infinite on probes where the correct values are finite.",
        "Look for a division by zero or a log of 0 on the line shown.",
    ),
}
