"""The headless-browser checker catches what a reader would see: broken figures, errors, a missing or unreadable
banner (light and dark mode), unrendered maths, and tables that run off a phone's screen."""

import base64
import importlib.util
from pathlib import Path

import pytest

from darkness_visible.tools.check_site import VIEWS, book_pages, check_site, contrast_ratio, find_chromium

ROOT = Path(__file__).resolve().parents[2]

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
BANNER = ('<div class="admonition warning dv-banner"><p class="admonition-title">Not GPT-2</p>'
          '<p>Numbers on this page come from a <strong>stand-in</strong>.</p></div>')


def test_contrast_ratio_matches_wcag():
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)  # #777 on white fails AA
    assert contrast_ratio((40, 40, 40), (40, 40, 40)) == pytest.approx(1.0)


def test_book_pages_skips_search_index_redirects_and_assets(tmp_path):
    for rel in ("book/intro.html", "notebooks/01.html", "search.html", "genindex.html", "_static/x.html",
                "results/r.html"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("<html><body>x</body></html>")
    (tmp_path / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=book/intro.html" />')
    assert book_pages(tmp_path) == ["book/intro.html", "notebooks/01.html"]


# ------------------------------------------------------------------ in the browser

browser = pytest.mark.skipif(
    importlib.util.find_spec("playwright") is None or find_chromium() is None,
    reason="needs playwright (requirements.txt) and Debian's chromium (CI: apt-get install chromium)")


def _page(folder: Path, rel: str, body: str, head: str = "") -> None:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><head>{head}</head><body><main>{body}</main></body></html>")


@browser
def test_good_page_passes_and_bad_page_is_caught(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "fig.png").write_bytes(PNG)
    _page(tmp_path, "notebooks/01_good.html", BANNER + '<div class="cell_output"><img src="fig.png" alt="a dot"></div>')
    _page(tmp_path, "notebooks/02_bad.html", '<div class="cell_output"><img src="missing.png"></div>'
          '<div class="cell_output"><pre>Traceback (most recent call last): boom</pre></div>')
    _page(tmp_path, "book/glossary.html", "<p>No banner here.</p>")
    reports = {r.page: r for r in check_site(tmp_path, tmp_path / "shots", standin=True)}
    good, bad, glossary = reports["notebooks/01_good.html"], reports["notebooks/02_bad.html"], \
        reports["book/glossary.html"]
    assert good.problems == [] and good.output_figures == 1 and good.banner and good.min_banner_contrast > 10
    assert any("did not load" in p for p in bad.problems)
    assert any("without any figure" in p for p in bad.problems)
    assert any("error output" in p for p in bad.problems)
    assert any("banner is missing" in p for p in bad.problems)
    assert any("banner is missing" in p for p in glossary.problems)  # every page, not only chapters
    assert (tmp_path / "shots" / "notebooks__01_good.html.png").stat().st_size > 0
    assert (tmp_path / "shots" / "notebooks__01_good.html.phone-dark.png").stat().st_size > 0


@browser
def test_captioned_figures_count_and_need_alt_text(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "fig.png").write_bytes(PNG)
    _page(tmp_path, "notebooks/03_glued.html", BANNER + '<figure id="fig-a"><img src="fig.png" alt="one dot, centred">'
          "<figcaption>Fig. 1 A dot.</figcaption></figure>")
    _page(tmp_path, "notebooks/04_no_alt.html", BANNER + '<figure><img src="fig.png"></figure>')
    reports = {r.page: r for r in check_site(tmp_path, standin=True)}
    glued, no_alt = reports["notebooks/03_glued.html"], reports["notebooks/04_no_alt.html"]
    assert glued.problems == [] and glued.output_figures == 1 and glued.first_figure_y is not None
    assert no_alt.output_figures == 1 and any("without alt text" in p for p in no_alt.problems)


@browser
def test_banner_unreadable_in_dark_mode_is_caught(tmp_path):
    style = ('<style>.dv-banner{color:#111;background:#fff4d6}'
             'html[data-theme="dark"] .dv-banner{color:#2a2a2a;background:#222}</style>')
    _page(tmp_path, "book/intro.html", BANNER, head=style)
    [report] = check_site(tmp_path, standin=True, need_figures="notebooks/0")
    assert report.banner
    assert any(p.startswith("[desktop-dark] banner text") for p in report.problems), report.problems
    assert any(p.startswith("[phone-dark] banner text") for p in report.problems)
    assert not any("light]" in p for p in report.problems)


@browser
def test_wide_table_at_phone_width_is_caught_and_a_scroll_box_passes(tmp_path):
    cells = "".join(f"<th>column number {i}</th>" for i in range(12)) + "<th>verdict</th>"
    _page(tmp_path, "book/wide.html", f"<table><tr>{cells}</tr></table>")
    _page(tmp_path, "book/boxed.html", f'<div style="overflow-x:auto"><table><tr>{cells}</tr></table></div>')
    reports = {r.page: r for r in check_site(tmp_path, views=VIEWS[2:3])}
    assert any("scrolls sideways" in p for p in reports["book/wide.html"].problems)
    assert any("verdict column out of view" in p for p in reports["book/wide.html"].problems)
    assert reports["book/boxed.html"].problems == []


@browser
def test_raw_maths_is_caught_and_offline_mathjax_renders(tmp_path):
    spec = importlib.util.spec_from_file_location("dv_offline_mathjax", ROOT / "book" / "_ext" / "offline_mathjax.py")
    offline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(offline)
    maths = r'<p>The rate <span class="math notranslate nohighlight">\(p = k / n\)</span> is low.</p>'
    _page(tmp_path, "book/raw.html", maths)
    try:
        source = offline.mathjax_source()
    except Exception as error:  # noqa: BLE001 - the package is in requirements.txt; say so if it is missing
        pytest.skip(str(error))
    offline.copy_mathjax(source, tmp_path / "_static")
    assert "Apache License" in (tmp_path / "_static" / "mathjax" / "LICENSE").read_text()
    assert "MathJax Consortium" in (tmp_path / "_static" / "mathjax" / "NOTICE").read_text()
    _page(tmp_path, "book/rendered.html", maths,
          head='<script defer src="../_static/mathjax/tex-chtml.js"></script>')
    reports = {r.page: r for r in check_site(tmp_path, views=VIEWS[:1])}
    assert any("maths not rendered" in p for p in reports["book/raw.html"].problems)
    assert reports["book/rendered.html"].problems == [] and reports["book/rendered.html"].maths == 1


@browser
def test_a_chapter_whose_first_figure_is_far_down_fails(tmp_path):
    """Issue 26.7: a chapter's first figure must start within FIRST_FIGURE_MAX_Y px at desktop width."""
    from darkness_visible.tools.check_site import FIRST_FIGURE_MAX_Y

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "fig.png").write_bytes(PNG)
    figure = '<div class="cell_output"><img src="fig.png" alt="a dot" style="width:10px;height:10px"></div>'
    _page(tmp_path, "notebooks/01_early.html", f'<div style="height:{FIRST_FIGURE_MAX_Y - 400}px"></div>{figure}')
    _page(tmp_path, "notebooks/02_late.html", f'<div style="height:{FIRST_FIGURE_MAX_Y + 100}px"></div>{figure}')
    reports = {r.page: r for r in check_site(tmp_path, views=VIEWS[:1])}
    early, late = reports["notebooks/01_early.html"], reports["notebooks/02_late.html"]
    assert early.problems == [] and FIRST_FIGURE_MAX_Y - 400 <= early.first_figure_y <= FIRST_FIGURE_MAX_Y
    assert late.first_figure_y > FIRST_FIGURE_MAX_Y
    assert any("first figure starts" in p and "more than 2500 px" in p for p in late.problems), late.problems


@browser
def test_scorecard_needs_coloured_verdict_counts_on_its_first_screen(tmp_path):
    """Issue 26.6: the verdict counts (coloured badges, built by scorecard.summary_html) above the verdict table."""
    import pandas as pd

    from darkness_visible.report.results import VERDICTS
    from darkness_visible.report.scorecard import html_table, summary_html

    css = (ROOT / "book" / "_static" / "custom.css").read_text()
    head = f"<style>{css}</style>"
    counts = {**{v: 1 for v in VERDICTS}, "total": len(VERDICTS)}
    table = html_table(pd.DataFrame({"claim": list(VERDICTS), "verdict": list(VERDICTS)}), ["claim", "verdict"])
    _page(tmp_path, "book/above.html", summary_html(counts) + table, head=head)
    _page(tmp_path, "book/below.html", table + summary_html(counts), head=head)
    _page(tmp_path, "book/far.html", '<div style="height:1200px"></div>' + summary_html(counts) + table, head=head)
    _page(tmp_path, "book/missing.html", table, head=head)
    _page(tmp_path, "book/plain.html", summary_html(counts) + table)  # no stylesheet: badges without colour
    reports = {r.page: r for r in check_site(tmp_path, views=VIEWS[:1])}
    assert reports["book/above.html"].problems == [] and reports["book/above.html"].verdict_counts_y is not None
    assert any("below the verdict table" in p for p in reports["book/below.html"].problems)
    assert any("below the first screen" in p for p in reports["book/far.html"].problems)
    assert any("without the coloured verdict counts" in p for p in reports["book/missing.html"].problems)
    assert any("without a badge colour" in p for p in reports["book/plain.html"].problems)


@browser
def test_code_that_runs_past_its_box_is_caught_and_the_book_css_wraps_it(tmp_path):
    """Issue 26.7: at 1280 px long code lines were hidden to the right; the book's stylesheet wraps them."""
    css = (ROOT / "book" / "_static" / "custom.css").read_text()
    line = "x = 1  # " + "a long comment on an nnsight line " * 8
    code = f'<div class="bd-article"><div class="highlight"><pre style="overflow-x:auto">{line}</pre></div></div>'
    _page(tmp_path, "book/hidden.html", code)
    _page(tmp_path, "book/wrapped.html", code, head=f"<style>{css}</style>")
    reports = {r.page: r for r in check_site(tmp_path, views=VIEWS[:1])}
    assert any("hide text to the right" in p for p in reports["book/hidden.html"].problems)
    assert reports["book/wrapped.html"].problems == []
