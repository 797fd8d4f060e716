"""Sphinx extension: stop the book build at once when the run cannot work, with the one line that says why.

Without it, an offline build on the default (real GPT-2) model would execute every notebook and bury
the same error in each page's traceback. Before any notebook runs, this resolves the settings (reading
``_config.yml``) and runs :func:`darkness_visible.models.preflight.preflight`: the model can be had and is a usable
GPT-2 (its ``config.json`` is read and its architecture, vocabulary and context checked; its weight files'
headers are checked), the corpus can be read and the cache folder is writable. Relative ``DV_CACHE`` and
``DV_RESULTS`` are made absolute against the directory the build was started from, since the kernels run in
``notebooks/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from sphinx.errors import ExtensionError


def _check(app) -> None:
    from darkness_visible.errors import DVUserError
    from darkness_visible.models.preflight import preflight

    for name in ("DV_CACHE", "DV_RESULTS"):
        if os.environ.get(name):
            os.environ[name] = str(Path(os.environ[name]).expanduser().resolve())
    try:
        checked = preflight()
    except DVUserError as error:
        raise ExtensionError(f"the book cannot be executed on this machine:\n{error}") from None
    if checked.spec.kind == "local":  # the kernels run in notebooks/: hand them the absolute folder
        os.environ["DV_MODEL"] = checked.spec.setting


def setup(app):
    # the chapters' kernels inherit this: darkness_visible.book.glue shows no plain-text copy of glued values
    os.environ["DV_BOOK_BUILD"] = "1"
    app.connect("builder-inited", _check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
