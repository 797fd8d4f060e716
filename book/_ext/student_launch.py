"""Sphinx extension: the Colab and Binder buttons of a chapter open its student copy.

sphinx-book-theme's launch buttons point at the page's own source (``notebooks/<chapter>.ipynb``), which
holds the solutions. When ``notebooks/student/<chapter>.ipynb`` exists (made by
``python -m darkness_visible.tools.make_notebooks``), this points every launch button of that page at it.
It runs after the theme has added the buttons (``html-page-context``, priority 502 > the theme's 501).
"""

from __future__ import annotations

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


def _retarget(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    if not pagename.startswith("notebooks/") or pagename.count("/") != 1:
        return
    name = pagename.split("/", 1)[1]
    if (Path(app.srcdir) / "notebooks" / "student" / f"{name}.ipynb").is_file():
        student_urls(context.get("header_buttons", []), f"notebooks/{name}.ipynb", f"notebooks/student/{name}.ipynb")


def setup(app):
    app.connect("html-page-context", _retarget, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
