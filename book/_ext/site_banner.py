"""Sphinx extension: the run banner on every page of a book not built on the paper's GPT-2 Small.

The chapters show their own banner (``book.Run.banner()``, HTML from :func:`darkness_visible.book.banner_html`),
but the book's own pages (intro, how-to-run, instructors, glossary, specification pages, references) and any chapter
that does not call it would otherwise say nothing about which model produced the numbers a reader is looking
at. On each HTML page whose body has no ``dv-banner`` yet, this puts the same banner (for the resolved model
setting, :func:`darkness_visible.config.settings.model_setting`) at the top of the article, wrapped in
``<div class="dv-site-banner">``. Built on GPT-2 Small itself, pages get no site banner.

Its colours, in light and dark mode, are in ``book/_static/custom.css`` (``.dv-banner``); the browser check
(:mod:`darkness_visible.tools.check_site`) asserts the banner is on every page and readable.
"""

from __future__ import annotations

from typing import Any


def site_banner_html(setting: str | None = None, compact: bool = False) -> str:
    """The banner for the top of every page of a book built on ``setting`` (default: the resolved model).

    '' on GPT-2 Small. ``compact``: one paragraph that points to the page's own, detailed banner.
    """
    import html

    from darkness_visible.book import banner_html
    from darkness_visible.config.settings import model_setting
    from darkness_visible.models.loading import ModelSpec

    spec = ModelSpec.parse(model_setting(setting))
    if spec.is_gpt2_small:
        return ""
    if not compact:
        return f'<div class="dv-site-banner" role="note">{banner_html(spec)}</div>'
    kind, what = ("note", "a checkpoint that is not GPT-2 Small") if spec.is_pretrained else (
        "warning", "a random-weight stand-in, not GPT-2")
    return (f'<div class="dv-site-banner" role="note"><div class="admonition {kind} dv-banner">'
            f'<p><strong>Numbers on this page come from {what}</strong> ({html.escape(spec.describe())}); '
            "the banner below says how this page was run.</p></div></div>")


def _inject(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    body = context.get("body")
    if not body:
        return
    compact = "dv-banner" in body
    cache = app.__dict__.setdefault("_dv_site_banner", {})  # on the app, not the pickled env: the model may change
    if compact not in cache:
        cache[compact] = site_banner_html(compact=compact)
    if cache[compact]:
        context["body"] = cache[compact] + body


def setup(app):
    app.connect("html-page-context", _inject)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
