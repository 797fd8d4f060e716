"""Sphinx extension: the run banner on every page of a book not built on the paper's GPT-2 Small.

The chapters show their own banner (``book.Run.banner()``, HTML from :func:`darkness_visible.book.banner_html`),
but the book's own pages (intro, how-to-run, instructors, glossary, specification, references) and any chapter
that does not call it would otherwise say nothing about which model produced the numbers a reader is looking
at. On each HTML page whose body has no ``dv-banner`` yet, this puts the same banner (for the resolved model
setting, :func:`darkness_visible.settings.model_setting`) at the top of the article, wrapped in
``<div class="dv-site-banner">``. Built on GPT-2 Small itself, pages get no site banner.

Its colours, in light and dark mode, are in ``book/_static/custom.css`` (``.dv-banner``); the browser check
(:mod:`darkness_visible.tools.check_site`) asserts the banner is on every page and readable.
"""

from __future__ import annotations

from typing import Any


def site_banner_html(setting: str | None = None) -> str:
    """The banner for every page of a book built on ``setting`` (default: the resolved model); '' on GPT-2 Small."""
    from darkness_visible.book import banner_html
    from darkness_visible.model import ModelSpec
    from darkness_visible.settings import model_setting

    spec = ModelSpec.parse(model_setting(setting))
    if spec.is_gpt2_small:
        return ""
    return f'<div class="dv-site-banner" role="note">{banner_html(spec)}</div>'


def _inject(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    body = context.get("body")
    if not body or "dv-banner" in body:
        return
    banner = getattr(app, "_dv_site_banner", None)  # on the app, not the pickled env: the model may change
    if banner is None:
        banner = app._dv_site_banner = site_banner_html()
    if banner:
        context["body"] = banner + body


def setup(app):
    app.connect("html-page-context", _inject)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
