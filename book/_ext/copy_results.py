"""Sphinx extension: publish the chapters' result files (scorecard rows) with the HTML build.

The executed chapters write ``ResultRow`` JSON files into ``darkness_visible.config.settings.results_dir()``;
when the HTML build finishes this copies them to ``<html>/results/`` so that the scorecard's
``results/scorecard.json`` and ``.csv`` are downloadable from the published book.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from darkness_visible.config.settings import results_dir

    source = results_dir()
    if source.is_dir():
        shutil.copytree(source, Path(app.outdir) / "results", dirs_exist_ok=True)


def setup(app):
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
