"""Sphinx extension: figures, tables and listings are numbered per page ("Figure 1" is a page's first figure).

With ``numfig`` and no numbered toctree (the chapter titles carry their own "01 ·"), Sphinx counts figures
across the whole book, so chapter 03's first figure was "Figure 11" while its exercises are numbered per
chapter. After Sphinx has assigned its numbers (``env-get-updated``, after the toctree collector), this renumbers
each page's figures of each kind 1, 2, ... in the order Sphinx numbered them; ``{numref}`` and the captions both
read ``env.toc_fignumbers``, so they agree.
"""

from __future__ import annotations


def per_page(fignumbers: dict[str, dict[str, dict[str, tuple[int, ...]]]]) -> dict:
    """``{doc: {figtype: {id: number}}}`` with each doc's numbers of each type restarted at 1, order kept."""
    out: dict = {}
    for doc, types in fignumbers.items():
        out[doc] = {}
        for figtype, ids in types.items():
            ordered = sorted(ids, key=lambda i: ids[i])
            out[doc][figtype] = {figure_id: (n,) for n, figure_id in enumerate(ordered, start=1)}
    return out


def _renumber(app, env) -> list[str]:
    if env.config.numfig:
        env.toc_fignumbers = per_page(env.toc_fignumbers)
    return []


def setup(app):
    app.connect("env-get-updated", _renumber, priority=900)  # the toctree collector's numbering runs at 500
    return {"parallel_read_safe": True, "parallel_write_safe": True}
