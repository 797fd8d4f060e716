"""Model answers to the exercises, one module per chapter, kept apart from the checks.

A student imports the checks (``from darkness_visible.exercises import tracing as ex``); the answers are here,
for instructors and for the tests, which run every check on them (``tests/exercises``). Each ``reference_*``
function is written the way a student would answer, from numpy and torch, not by calling the package function
the check compares with. The instructor copies of the notebooks show the same answers in their solution cells.
"""
