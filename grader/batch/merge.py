"""`grade merge`: combine the --out folders of the shards of one batch into the outputs of one run.

The shards' manifests must describe one batch (grader version, assignment, time limit,
inputs) and each shard of its split must be given once; the result and feedback files are
copied, those of formats not graded yet rendered from the results, and the batch files
rebuilt exactly as one uninterrupted run writes them (grader.batch.write_batch_files).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from grader.batch.outdir import (
    MANIFEST_FILE,
    SUFFIXES,
    Entry,
    Manifest,
    check_shard_set,
    remove_stale_temporaries,
    submission_file,
    write_atomic,
)
from grader.batch.run import exit_status, feedback_renderers, render_missing, write_batch_files
from grader.errors import ResultFileError, UsageError
from grader.scoring import min_score_test


def merge(folders: Sequence[Path], out: Path, formats: Sequence[str] | None = None,
          min_score: str | None = None, clean: bool = False) -> int:
    """Combine the output folders of the shards of one batch into `out`, as if one run had graded them all.

    Raises:
        UsageError: A folder is not a shard output, the shards are of different runs, or some are missing.
    """
    below = min_score_test(min_score)
    manifests = []
    for folder in folders:
        try:
            manifests.append(Manifest.read(folder))
        except FileNotFoundError:
            raise UsageError(f"{folder} has no {MANIFEST_FILE}: not the --out folder of a grade run") from None
        except (OSError, ResultFileError) as error:
            raise UsageError(str(error)) from None
    first = manifests[0]
    below = min_score_test(min_score, first.assignment.max_score)
    for folder, manifest in zip(folders, manifests):
        if (manifest.grader_version, manifest.assignment, manifest.timeout_seconds, manifest.total,
                manifest.feedback) != (first.grader_version, first.assignment, first.timeout_seconds, first.total,
                                       first.feedback):
            raise UsageError(f"{folder} is not a shard of the same batch as {folders[0]} (grader version, "
                             "assignment, --timeout, --feedback or inputs differ)")
    check_shard_set(folders, [manifest.shard for manifest in manifests])
    entries: dict[int, tuple[Entry, Path]] = {}
    for folder, manifest in zip(folders, manifests):
        for entry in manifest.entries:
            if entry.index in entries and entries[entry.index][0] != entry:
                raise UsageError(f"{folder} and {entries[entry.index][1]} disagree on submission {entry.index + 1}")
            entries[entry.index] = (entry, folder)
    missing = sorted(set(range(first.total)) - set(entries))
    if missing:
        shards = sorted({f"{m.shard[0]}/{m.shard[1]}" for m in manifests})
        raise UsageError(f"the shards given ({', '.join(shards)}) cover {len(entries)} of {first.total} submissions; "
                         f"missing e.g. submission {missing[0] + 1}: merge every shard's folder")
    chosen = tuple(sorted(set(formats))) if formats else tuple(sorted({f for m in manifests for f in m.formats}))
    ordered = tuple(entry for _, (entry, _) in sorted(entries.items()))
    renderers = feedback_renderers(chosen, to_files=True, colour=False, feedback=first.feedback)
    remove_stale_temporaries(out)
    for entry in ordered:
        source = entries[entry.index][1]
        for name in SUFFIXES:
            _copy(submission_file(source, entry.id, name), submission_file(out, entry.id, name),
                  required=name == "json")
        render_missing(out, entry, renderers)
    merged = Manifest(first.grader_version, first.assignment, first.timeout_seconds, chosen, (1, 1), first.total,
                      ordered, first.feedback)
    write_atomic(out / MANIFEST_FILE, merged.to_text())
    return exit_status(write_batch_files(out, merged, clean=clean), below)


def _copy(source: Path, target: Path, required: bool) -> None:
    if not source.is_file():
        if required:
            raise UsageError(f"{source} is missing: that shard did not finish; run it again with --resume")
        return
    if target.exists() and os.path.samefile(source, target):
        return
    write_atomic(target, source.read_bytes())
