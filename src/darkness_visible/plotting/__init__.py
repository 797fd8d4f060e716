"""Figures and visual helpers for the chapters (drawing only: no analysis lives here).

Figures are drawn at the book's content width, :data:`WIDTH` inches at 100 dpi, so their fonts (9 pt or more)
are shown at the size they were drawn.
"""

from __future__ import annotations

import textwrap

#: The book's content width in inches (at 100 dpi): figures drawn at this width are never rescaled.
WIDTH = 7.3


def wrap(text: str, width: int = 80) -> str:
    """``text`` broken into lines of at most ``width`` characters (for long run labels in titles)."""
    return "\n".join(textwrap.wrap(text, width)) or text
