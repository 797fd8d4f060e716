"""Sphinx extension: serve MathJax 3 with the book, so maths renders offline (no CDN).

The MathJax 3.2.2 browser build comes from the pinned PyPI package ``sphinx-mathjax-offline`` (see
``requirements.txt``); nothing is vendored into the repository. At the end of an HTML build this copies the
files that ``tex-chtml.js`` loads (the script, its input, output/CHTML fonts, a11y, ui and sre modules) into
``<html>/_static/mathjax/`` with MathJax's licence (Apache-2.0, ``book/_ext/licenses/MathJax-LICENSE.txt``)
and a NOTICE. ``_config.yml`` points Sphinx at it: ``sphinx: config: mathjax_path: mathjax/tex-chtml.js``.

MathJax is Copyright (c) 2009-2022 The MathJax Consortium, licensed under the Apache License 2.0.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

PACKAGE = "sphinx-mathjax-offline"  # the distribution's import name has hyphens; find_spec still finds it
#: What tex-chtml.js needs at run time; the other combined bundles (svg, mml, full) are left out.
WANTED = ("tex-chtml.js", "input", "output/chtml", "a11y", "ui", "sre", "adaptors")
LICENCE = Path(__file__).parent / "licenses" / "MathJax-LICENSE.txt"
NOTICE = ("MathJax 3.2.2 (https://www.mathjax.org), Copyright (c) 2009-2022 The MathJax Consortium.\n"
          "Licensed under the Apache License, Version 2.0: see LICENSE in this folder.\n"
          "Copied at build time from the PyPI package sphinx-mathjax-offline 0.0.2, unmodified.\n")


def mathjax_source() -> Path:
    """The folder of the installed MathJax build (with ``tex-chtml.js``); a clear error if it is missing."""
    spec = importlib.util.find_spec(PACKAGE)
    folder = Path(next(iter(spec.submodule_search_locations or []), "")) / "static" / "mathjax" if spec else None
    if folder is None or not (folder / "tex-chtml.js").is_file():
        raise ExtensionError("MathJax for offline maths is not installed: run `pip install -r requirements.txt` "
                             "(it pins sphinx-mathjax-offline)")
    return folder


def copy_mathjax(source: Path, static: Path) -> Path:
    """Copy MathJax's run-time files from ``source`` into ``static/mathjax``, with its licence; returns that folder."""
    target = static / "mathjax"
    for name in WANTED:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, target / name, dirs_exist_ok=True)
        elif src.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / name)
    shutil.copy2(LICENCE, target / "LICENSE")
    (target / "NOTICE").write_text(NOTICE, encoding="utf-8")
    return target


def _check(app) -> None:
    mathjax_source()  # fail before any notebook runs, not at the end
    if "://" in str(app.config.mathjax_path):
        raise ExtensionError(f"mathjax_path is a URL ({app.config.mathjax_path}): set "
                             "`mathjax_path: mathjax/tex-chtml.js` under sphinx: config: in _config.yml")


def _copy(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        copy_mathjax(mathjax_source(), Path(app.outdir) / "_static")


def setup(app):
    app.connect("builder-inited", _check)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
