"""The book's Sphinx extensions (book/_ext), built into a one-page Sphinx project: the run banner on every
page, MathJax served with the site, and citations that read the same in the text and the reference list."""

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "book" / "_ext"

PAGE = """Title
=====

As :cite:t:`balogh2026darkness` argue, and others :cite:p:`dai2022knowledge`; also :cite:t:`balogh2026discrete`.
The rate is :math:`p = k / n`.

.. bibliography::
"""


def _build(tmp_path: Path, monkeypatch, model: str) -> Path:
    from sphinx.application import Sphinx

    monkeypatch.setenv("DV_MODEL", model)
    monkeypatch.chdir(tmp_path)  # no _config.yml above: the setting comes from DV_MODEL
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "book" / "references.bib", src / "references.bib")
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(EXT)!r})\n"
        "extensions = ['sphinx.ext.mathjax', 'sphinxcontrib.bibtex', 'site_banner', 'offline_mathjax', 'bib_style']\n"
        "bibtex_bibfiles = ['references.bib']\nbibtex_reference_style = 'author_year_round'\n"
        "bibtex_default_style = 'authoryear'\nmathjax_path = 'mathjax/tex-chtml.js'\n")
    (src / "index.rst").write_text(PAGE)
    out = tmp_path / "html"
    Sphinx(str(src), str(src), str(out), str(tmp_path / "doctrees"), "html", status=None, warning=None,
           freshenv=True).build()
    return out


@pytest.fixture
def standin_site(tmp_path, monkeypatch):
    pytest.importorskip("sphinxcontrib.bibtex")
    return _build(tmp_path, monkeypatch, "standin")


def test_every_page_of_a_standin_build_carries_the_banner(standin_site):
    html = (standin_site / "index.html").read_text()
    assert html.count('class="dv-site-banner"') == 1
    assert 'class="admonition warning dv-banner"' in html and "not GPT-2" in html


def test_gpt2_build_has_no_site_banner(tmp_path, monkeypatch):
    pytest.importorskip("sphinxcontrib.bibtex")
    html = (_build(tmp_path, monkeypatch, "openai-community/gpt2") / "index.html").read_text()
    assert "dv-site-banner" not in html


def test_mathjax_is_served_with_the_site_with_its_licence(standin_site):
    html = (standin_site / "index.html").read_text()
    assert '_static/mathjax/tex-chtml.js' in html and "cdn.jsdelivr" not in html
    folder = standin_site / "_static" / "mathjax"
    assert (folder / "tex-chtml.js").stat().st_size > 100_000
    assert any((folder / "output" / "chtml" / "fonts").rglob("*.woff"))
    assert "Apache License" in (folder / "LICENSE").read_text()


def test_citations_and_reference_list_agree(standin_site):
    html = re.sub(r"<[^>]+>", "", (standin_site / "index.html").read_text())  # the text a reader sees
    assert "Balogh (2026a)" in html and "(Dai et al., 2022)" in html and "Balogh (2026b)" in html
    assert "Balogh, 2026a" in html and "Dai et al., 2022" in html  # the list's labels
    assert "[Bal26" not in html and "[DDH" not in html


def test_launch_buttons_open_the_student_copy():
    import importlib.util

    spec = importlib.util.spec_from_file_location("dv_student_launch", EXT / "student_launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    colab = "https://colab.research.google.com/github/o/r/blob/main/notebooks/01_tracing.ipynb"
    buttons = [{"label": "download-buttons", "buttons": [{"url": "notebooks/01_tracing.ipynb"}]},
               {"label": "launch-buttons", "buttons": [{"url": colab}, {"url": "https://x/?urlpath=tree/other"}]}]
    assert module.student_urls(buttons, "notebooks/01_tracing.ipynb", "notebooks/student/01_tracing.ipynb") == 1
    assert buttons[1]["buttons"][0]["url"].endswith("/blob/main/notebooks/student/01_tracing.ipynb")
    assert buttons[0]["buttons"][0]["url"] == "notebooks/01_tracing.ipynb"  # downloads keep the chapter


def test_download_button_serves_the_student_copy(tmp_path):
    """Issue 26.5: the download button served ``_sources/...ipynb`` (the solutions, raw MyST, no outputs)."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("dv_student_launch", EXT / "student_launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    src, out = tmp_path / "src", tmp_path / "html"
    (src / "notebooks" / "student").mkdir(parents=True)
    (src / "notebooks" / "01_tracing.ipynb").write_text(json.dumps({"cells": ["solution"]}))
    (src / "notebooks" / "student" / "01_tracing.ipynb").write_text(json.dumps({"cells": ["stub"]}))

    def context():
        return {"header_buttons": [
            {"label": "download-buttons", "buttons": [
                {"type": "link", "url": "../_sources/notebooks/01_tracing.ipynb", "label": "download-source-button"},
                {"type": "javascript", "javascript": "window.print()", "label": "download-pdf-button"}]},
            {"label": "launch-buttons", "buttons": [{"url": "https://colab/x/blob/main/notebooks/01_tracing.ipynb"}]}]}

    class App:
        srcdir, outdir = str(src), str(out)

    page = context()
    module._retarget(App(), "notebooks/01_tracing", "page.html", page, None)
    download, pdf = page["header_buttons"][0]["buttons"]
    assert download["url"] == "student/01_tracing.ipynb" and "student" in download["tooltip"]
    assert pdf == context()["header_buttons"][0]["buttons"][1]  # print-to-PDF untouched
    assert page["header_buttons"][1]["buttons"][0]["url"].endswith("notebooks/student/01_tracing.ipynb")
    # the link resolves next to the page (notebooks/01_tracing.html) to the student copy, not the solutions
    served = out / "notebooks" / download["url"]
    assert json.loads(served.read_text()) == {"cells": ["stub"]}
    other = context()
    module._retarget(App(), "book/intro", "page.html", other, None)  # not a chapter: unchanged
    assert other == context()


def test_a_page_with_its_own_banner_gets_the_compact_one_on_top(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("dv_site_banner", EXT / "site_banner.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("DV_MODEL", "standin")
    monkeypatch.chdir(tmp_path)

    class App:
        pass

    own = '<h1>Chapter</h1><div class="admonition warning dv-banner">details</div>'
    context = {"body": own}
    module._inject(App(), "notebooks/01", "page.html", context, None)
    assert context["body"].endswith(own) and context["body"].startswith('<div class="dv-site-banner"')
    assert "random-weight stand-in, not GPT-2" in context["body"] and "banner below" in context["body"]
    plain = {"body": "<h1>Glossary</h1>"}
    module._inject(App(), "book/glossary", "page.html", plain, None)
    assert "Numbers on this page come from a random-weight stand-in" in plain["body"]
    assert "banner below" not in plain["body"]


def test_figures_are_numbered_per_page(tmp_path):
    """Issue 26.7: with numfig and an unnumbered toctree Sphinx counts figures across the book ("Fig. 11" as a
    chapter's first figure); page_fignumbers restarts the count on every page, captions and references alike."""
    import base64

    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    (src / "dot.png").write_bytes(base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="))
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(EXT)!r})\nextensions = ['page_fignumbers']\n"
                                 "numfig = True\nnumfig_format = {'figure': 'Figure %s'}\n")
    (src / "index.rst").write_text("Book\n====\n\n.. toctree::\n\n   one\n   two\n")
    fig = ".. figure:: dot.png\n   :name: {0}\n\n   Caption {0}.\n\n"
    (src / "one.rst").write_text("One\n===\n\n" + fig.format("one-a") + fig.format("one-b"))
    (src / "two.rst").write_text("Two\n===\n\n" + fig.format("two-a") + fig.format("two-b")
                                 + "See :numref:`two-b` and :numref:`one-b`.\n")
    out = tmp_path / "html"
    Sphinx(str(src), str(src), str(out), str(tmp_path / "doctrees"), "html", status=None, warning=None,
           freshenv=True).build()
    text = {name: re.sub(r"<[^>]+>", "", (out / f"{name}.html").read_text()) for name in ("one", "two")}
    assert "Figure 1 Caption one-a" in text["one"] and "Figure 2 Caption one-b" in text["one"]
    assert "Figure 1 Caption two-a" in text["two"] and "Figure 2 Caption two-b" in text["two"]
    assert "Figure 3" not in text["two"] and "See Figure 2 and Figure 2." in text["two"]
