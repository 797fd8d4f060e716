"""Sphinx extension: the Colab and Binder buttons and the download button of a chapter serve its student copy.

sphinx-book-theme's launch buttons point at the page's own source (``notebooks/<chapter>.ipynb``), which
holds the solutions, and its download button at ``_sources/notebooks/<chapter>.ipynb`` (the same solutions, with
the book's MyST roles and no outputs). When ``notebooks/student/<chapter>.ipynb`` exists (made by
``python -m darkness_visible.tools.make_notebooks``), this points every launch button of that page at it, copies
it into the site (``<html>/notebooks/student/<chapter>.ipynb``) and points the download button at that copy.
It runs after the theme has added the buttons (``html-page-context``, priority 502 > the theme's 501).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def student_urls(buttons: list[dict[str, Any]], source: str, student: str) -> int:
    """Replace ``source`` by ``student`` in the URLs of the launch-button group; returns how many changed."""
    changed = 0
    for group in buttons:
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = button.get("url", "")
            if source in url:
                button["url"] = url.replace(source, student)
                changed += 1
    return changed


def student_download(buttons: list[dict[str, Any]], source: str, student_url: str) -> int:
    """Point the download group's links to ``source`` (``.../_sources/<source>``) at ``student_url``; returns how
    many changed. The print-to-PDF button (JavaScript, no URL) is left alone."""
    changed = 0
    for group in buttons:
        if group.get("label") != "download-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("type") == "link" and f"_sources/{source}" in button.get("url", ""):
                button["url"] = student_url
                button["tooltip"] = "Download the student notebook (exercises without solutions)"
                changed += 1
    return changed


def _retarget(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    if not pagename.startswith("notebooks/") or pagename.count("/") != 1:
        return
    name = pagename.split("/", 1)[1]
    student = Path(app.srcdir) / "notebooks" / "student" / f"{name}.ipynb"
    if not student.is_file():
        return
    buttons = context.get("header_buttons", [])
    student_urls(buttons, f"notebooks/{name}.ipynb", f"notebooks/student/{name}.ipynb")
    # the page is notebooks/<name>.html: the copy made below sits at notebooks/student/<name>.ipynb
    if student_download(buttons, f"notebooks/{name}.ipynb", f"student/{name}.ipynb"):
        target = Path(app.outdir) / "notebooks" / "student" / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(student, target)


def setup(app):
    app.connect("html-page-context", _retarget, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
