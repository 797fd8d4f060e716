"""Sphinx extension: stop the book build at once when the chosen model cannot be loaded.

Without it, an offline build on the default (real GPT-2) model would execute every notebook and bury
the same error in each page's traceback. This checks the model setting once, before any notebook runs,
and fails with the message that says how to get the weights or how to choose the stand-in.
"""

from __future__ import annotations

from sphinx.errors import ExtensionError


def _check(app) -> None:
    from darkness_visible.model import ModelSpec, ModelUnavailableError, check_available
    from darkness_visible.settings import model_setting

    spec = ModelSpec.parse(model_setting())
    try:
        check_available(spec)
    except ModelUnavailableError as error:
        raise ExtensionError(f"the book cannot be executed on this machine:\n{error}") from None


def setup(app):
    app.connect("builder-inited", _check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
