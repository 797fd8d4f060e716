"""Glued values show as text outside a book build, so plain Jupyter and Colab (the student copies) display the
numbers the prose names; inside the build (``DV_BOOK_BUILD=1``, set by book/_ext/preflight.py) they do not."""

import pytest

from darkness_visible import book


@pytest.fixture
def shown(monkeypatch):
    import IPython
    import IPython.display

    out = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    real = IPython.display.display

    def display(*objs, **kwargs):  # myst-nb's own record output goes to the real display
        if len(objs) == 1 and isinstance(objs[0], IPython.display.Markdown):
            out.append(objs[0])
        else:
            real(*objs, **kwargs)

    monkeypatch.setattr(IPython.display, "display", display)
    return out


def test_glue_shows_the_value_as_markdown_outside_the_book(shown, monkeypatch):
    monkeypatch.delenv(book.BOOK_BUILD_ENV, raising=False)
    assert book.glue("rate", "12.5 %") == "12.5 %"
    assert [m.data for m in shown] == ["`rate` = 12.5 %"]
    assert shown[0]._repr_markdown_() == "`rate` = 12.5 %"  # a text/markdown output, which every front end renders
    book.glue_all({"a": 1, "b": "2 %"})
    assert shown[-1].data == "`a` = 1  \n`b` = 2 %"


def test_glue_shows_nothing_extra_in_the_book_build(shown, monkeypatch):
    monkeypatch.setenv(book.BOOK_BUILD_ENV, "1")
    book.glue("rate", "12.5 %")
    book.glue_all({"a": 1})
    assert shown == []


def test_the_book_build_sets_the_variable(monkeypatch):
    import importlib.util
    import os
    from pathlib import Path

    monkeypatch.delenv(book.BOOK_BUILD_ENV, raising=False)
    path = Path(__file__).resolve().parents[1] / "book" / "_ext" / "preflight.py"
    spec = importlib.util.spec_from_file_location("preflight_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class App:
        def connect(self, *args):
            pass

    module.setup(App())
    assert os.environ[book.BOOK_BUILD_ENV] == "1" and book.building_book()
