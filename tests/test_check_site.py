"""The headless-browser checker catches what a reader would see: broken figures, errors, no banner."""

import base64

import pytest

from darkness_visible.tools.check_site import check_site, find_chromium

pytest.importorskip("playwright", reason="playwright is in requirements.txt; install it to run the browser check")
if find_chromium() is None:
    pytest.skip("Debian's chromium is not installed (CI installs it: apt-get install chromium)",
                allow_module_level=True)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _site(tmp_path):
    nb = tmp_path / "notebooks"
    nb.mkdir()
    (nb / "fig.png").write_bytes(PNG)
    good = '<div class="dv-banner">stand-in</div><div class="cell_output"><img src="fig.png"></div>'
    (nb / "01_good.html").write_text(f"<html><body>{good}</body></html>")
    bad = ('<div class="cell_output"><img src="missing.png"></div>'
           '<div class="cell_output"><pre>Traceback (most recent call last): boom</pre></div>')
    (nb / "02_bad.html").write_text(f"<html><body>{bad}</body></html>")
    return tmp_path


def test_good_page_passes_and_bad_page_is_caught(tmp_path):
    reports = {r.page: r for r in check_site(_site(tmp_path), tmp_path / "shots", standin=True)}
    good, bad = reports["notebooks/01_good.html"], reports["notebooks/02_bad.html"]
    assert good.problems == [] and good.output_figures == 1 and good.banner
    assert any("did not load" in p for p in bad.problems)
    assert any("without any figure" in p for p in bad.problems)
    assert any("error output" in p for p in bad.problems)
    assert any("banner is missing" in p for p in bad.problems)
    assert (tmp_path / "shots" / "notebooks__01_good.html.png").stat().st_size > 0
