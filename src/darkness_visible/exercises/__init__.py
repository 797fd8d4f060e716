"""The exercises' checkers, one module per chapter.

A learner writes a function and passes it to the matching ``check_*``: the check runs it on inputs it
builds itself, compares the result with the package's implementation, and raises ``AssertionError`` with a
hint, or returns ``True``. The model answers are in :mod:`darkness_visible.exercises.solutions`, not in the
modules a student imports; pytest runs the checks on them.

=========================================  ==========================================
module                                     chapter
=========================================  ==========================================
:mod:`darkness_visible.exercises.tracing`      01 · tracing the last MLP with nnsight
:mod:`darkness_visible.exercises.tiers`        02 · the exception handler and its tiers
:mod:`darkness_visible.exercises.consensus`    03 · consensus and the crossover
:mod:`darkness_visible.exercises.knowledge`    04 · "knowledge neurons"
:mod:`darkness_visible.exercises.garden_path`  05 · the garden-path pairs
:mod:`darkness_visible.exercises.crosslayer`   06 · crystallization, lenses and controls
=========================================  ==========================================

Import one module per chapter, e.g. ``from darkness_visible.exercises import tiers as ex``. The modules are
not imported here, so importing one chapter's checks does not load the others' dependencies.
"""

from __future__ import annotations

#: What an unanswered exercise shows instead of a ``NameError`` (student copies guard their check cells).
NOT_ANSWERED = ("Not answered yet: {names} {verb} not defined. Write your answer in the answer cell above, run it, "
                "then run this cell again. (The rest of the notebook runs without it.)")


def answered(*names: str) -> bool:
    """True when every name is defined in the caller's (the notebook's) globals; otherwise print a friendly
    "not answered yet" message and return False, so "Run all" goes on past an unanswered exercise.

    The student copies made by :mod:`darkness_visible.tools.make_notebooks` wrap each check cell in
    ``if answered("name", ...):``.
    """
    import sys

    scope = sys._getframe(1).f_globals
    missing = [n for n in names if n not in scope]
    if missing:
        shown = ", ".join(f"`{n}`" for n in missing)
        print(NOT_ANSWERED.format(names=shown, verb="is" if len(missing) == 1 else "are"))
        return False
    return True
