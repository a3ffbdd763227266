"""Extract: pull each graded function out of a submission into a minimal module, by AST, never running it.

`notebook` reads the cells' top-level bindings, `module` builds each function's module with
its lines mapped back to the cells, `served` decides which imports the provided helpers serve,
`syntax` walks trees once.
"""
from grader.extract.module import defined_functions, extract_functions

__all__ = ["defined_functions", "extract_functions"]
