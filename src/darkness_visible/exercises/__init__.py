"""The exercises' checkers, one module per chapter.

A learner writes a function and passes it to the matching ``check_*``: the check runs it on inputs it
builds itself, compares the result with the package's implementation, and raises ``AssertionError`` with a
hint, or returns ``True``. The ``reference_*`` functions are model answers; pytest runs the checks on them.

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
