"""Batch: a folder of submissions, in parallel, resumable, sharded, with the class reports and the CI outputs.

`run` grades a batch and writes its files, `merge` combines shards, `pool` forks the grading
processes, `outdir` is the output folder's layout and manifest, `reports` the class reports
(`charts` draws them), `github` the GitHub job summary, `progress` the progress line.
Imported only for more than one submission: `grade one.ipynb` never loads it.
"""
