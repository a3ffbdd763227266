"""Find an assignment: by name or folder, or from the functions a notebook defines.

Only specs are read here (YAML), never instructor code: the main process of a batch finds
the assignment without loading it (see grader.batch.pool).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.assignment.schema import SPEC_FILE, read_spec
from grader.errors import SpecError

GRADER_PACKAGE = Path(__file__).resolve().parents[1]


def builtin_assignments_folder() -> Path:
    """Where the assignments shipped with the grader live: `grader/reference` installed, `reference/` in a checkout."""
    installed = GRADER_PACKAGE / "reference"
    return installed if installed.is_dir() else GRADER_PACKAGE.parent / "reference"


def builtin_names() -> list[str]:
    """The built-in assignments: every folder of builtin_assignments_folder() holding an assignment.yaml."""
    root = builtin_assignments_folder()
    return sorted(entry.name for entry in root.iterdir() if (entry / SPEC_FILE).is_file()) if root.is_dir() else []


@dataclass(frozen=True, slots=True)
class Choice:
    """The assignment found, and why it was chosen (for a message; "" when it was named)."""

    folder: Path
    reason: str = ""


Definitions = Callable[[], Mapping[str, tuple[int, int]]]
"""The functions a submission defines, with the fewest and most positional arguments each takes (parameters with
defaults make a range), read only if there is a choice to make."""


def find_assignment(name_or_path: str | None, definitions: Definitions | None = None) -> Choice:
    """The assignment named (a built-in name, a folder, or its assignment.yaml), or the one `definitions` fit.

    Args:
        name_or_path: What --assignment says, or None to detect.
        definitions: Gives what a submission defines (called only when there are several built-in assignments).

    Raises:
        SpecError: Nothing by that name, or detection cannot decide (exit 2, saying what to do).
    """
    if name_or_path:
        return Choice(_named(name_or_path))
    return detect(definitions or dict)


def _named(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.is_file() and candidate.name == SPEC_FILE:
        return candidate.parent
    if (candidate / SPEC_FILE).is_file():
        return candidate
    builtin = builtin_assignments_folder() / name_or_path
    if (builtin / SPEC_FILE).is_file():
        return builtin
    known = f"built in: {', '.join(builtin_names()) or 'none'}"
    if candidate.is_dir():
        raise SpecError(f"the folder {name_or_path} has no {SPEC_FILE}, so it is not an assignment ({known})")
    if candidate.is_file():
        raise SpecError(f"{name_or_path} is a file: give the folder that holds {SPEC_FILE}, or its {SPEC_FILE}")
    raise SpecError(f"no assignment named {name_or_path!r} ({known})")


def detect(definitions: Definitions) -> Choice:
    """The built-in assignment whose graded functions the submission defines, taking the spec's parameters.

    One whose graded functions are all defined comes first, then the one with the most of them;
    a tie is refused (exit 2) rather than settled by the alphabet. With a single built-in
    assignment there is nothing to choose.
    """
    names = builtin_names()
    if not names:
        raise SpecError(f"no assignments in {builtin_assignments_folder()}")
    folders = [builtin_assignments_folder() / name for name in names]
    if len(folders) == 1:
        return Choice(folders[0])
    defined = definitions()
    fits = {folder: _fitting(folder, defined) for folder in folders}
    # An assignment whose graded functions are all there first, then the one with the most of them.
    rank = {folder: (len(found) == len(_signatures(folder)), len(found)) for folder, found in fits.items()}
    best_rank = max(rank.values())
    winners = [folder for folder in folders if rank[folder] == best_rank]
    best = best_rank[1]
    if best == 0:
        listed = ", ".join(sorted(defined)[:8]) + (", ..." if len(defined) > 8 else "")
        found = f" (it defines {listed})" if defined else ""
        raise SpecError(f"no submission defines a graded function of a built-in assignment ({', '.join(names)})"
                        f"{found}: give --assignment NAME")
    if len(winners) > 1:
        raise SpecError(f"the submission fits {' and '.join(folder.name for folder in winners)} equally "
                        f"({', '.join(fits[winners[0]])}): give --assignment NAME")
    winner = winners[0]
    total = len(_signatures(winner))
    return Choice(winner, f"it defines {', '.join(fits[winner])} ({best} of its {total} graded functions)")


def _signatures(folder: Path) -> dict[str, int]:
    data = read_spec(folder / SPEC_FILE)
    return {str(exercise.get("function")): len(exercise.get("parameters") or ())
            for exercise in data.get("exercises", []) if isinstance(exercise, dict)}


def _fitting(folder: Path, definitions: Mapping[str, tuple[int, int]]) -> list[str]:
    """The assignment's graded functions the submission defines so that they take the spec's parameters."""
    fits = []
    for function, count in _signatures(folder).items():
        fewest, most = definitions.get(function, (1, 0))  # not defined: takes nothing
        if fewest <= count <= most:
            fits.append(function)
    return fits
