"""Assignments: the spec model (`model`, standard library only), its loader and the catalogue of built-in ones.

Import from the modules: `grader.assignment.model` for the records, `grader.assignment.loader`
to read a folder, `grader.assignment.catalog` to find one by name or from a notebook.
"""
