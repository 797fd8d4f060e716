"""Open the built book in headless Chromium, as a reader would, and check every page.

``python -m darkness_visible.tools.check_site _build/html [--standin] [--screenshots DIR]`` serves the HTML on
localhost and opens every page of the book (chapters ``notebooks/*.html`` and the book's own pages, not the
search or index pages) through Playwright in Debian's Chromium, in four views: desktop (1280 px) and phone
(390 px) width, each in light and dark mode (``prefers-color-scheme`` and the theme's ``data-theme``). Every
request that leaves localhost is blocked, so the check sees what an offline reader sees. It fails a page on:

- an image that did not load, a chapter page without any figure (an image in a cell's output or in a glued,
  captioned ``<figure>``), an image without alt text, a cell showing an error or a traceback;
- with ``--standin``: a page without the run banner (``.dv-banner``), or banner text whose contrast with its
  background is below WCAG AA (4.5:1) in any view (colours from the computed styles);
- maths that did not render (a ``.math`` element without MathJax's ``mjx-container``, or raw ``\\(``/``\\[``
  left in the page's text), or MathJax loaded from anywhere but the site itself;
- a chapter page whose first figure starts more than :data:`FIRST_FIGURE_MAX_Y` (2,500 px) below the top of the
  page at desktop width (1280 px): the chapter's first figure belongs in its first two screens;
- a page with a scorecard verdict table (``table.dv-scorecard-table`` with a "verdict" column) whose coloured
  verdict counts (``.dv-verdict-counts``, one badge per verdict) are missing, not above the table, or not on
  the first screen at desktop width;
- a code block (``pre`` in the page's content) whose text runs past its right edge at desktop width, hidden
  behind a scroll bar (code wraps: ``book/_static/custom.css``);
- at phone width: the page scrolling sideways, or a table's "verdict" column out of view and not inside a
  scrollable box.

It reports how far down each chapter's first figure is. It saves
a full-page screenshot per page (desktop, light) and a first-screen screenshot of each other view, and exits
non-zero on any failure.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: WCAG 2 AA minimum contrast for body text.
MIN_CONTRAST = 4.5
#: How far below the top of a chapter page (desktop width, CSS px) its first figure may start: the first two and
#: a half screens of the 1000-px-high desktop view (issue 26: "each chapter's headline figure within the first
#: two screens").
FIRST_FIGURE_MAX_Y = 2500


@dataclass(frozen=True)
class View:
    """One way of looking at a page: a viewport width and a colour scheme."""

    name: str
    width: int
    height: int
    dark: bool


VIEWS = (View("desktop-light", 1280, 1000, False), View("desktop-dark", 1280, 1000, True),
         View("phone-light", 390, 844, False), View("phone-dark", 390, 844, True))
#: Pages that are not the book's content.
SKIP_PAGES = ("genindex.html", "search.html", "py-modindex.html")


@dataclass
class PageReport:
    """What was found on one page (over all views)."""

    page: str
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    output_figures: int = 0
    errors: int = 0
    banner: bool = False
    min_banner_contrast: float | None = None
    maths: int = 0
    first_figure_y: int | None = None
    verdict_counts_y: int | None = None
    images_without_alt: int = 0
    problems: list[str] = field(default_factory=list)


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def contrast_ratio(foreground: tuple[float, float, float], background: tuple[float, float, float]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours given as 0-255 triples (1 to 21)."""

    def luminance(rgb: tuple[float, float, float]) -> float:
        def channel(c: float) -> float:
            c = c / 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(c) for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def book_pages(html: Path) -> list[str]:
    """Every content page of a built book, relative to ``html``: no search/index pages, redirects or assets."""
    pages = []
    for path in sorted(html.rglob("*.html")):
        rel = path.relative_to(html)
        if rel.parts[0].startswith("_") or rel.parts[0] == "results" or rel.name in SKIP_PAGES:
            continue
        head = path.read_text(encoding="utf-8", errors="replace")[:2000].lower()
        if 'http-equiv="refresh"' in head:  # index.html: a redirect to the root page
            continue
        pages.append(str(rel))
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# The colour of each piece of banner text and the opaque background behind it (translucent layers blended).
_BANNER_COLOURS_JS = """
() => {
  const parse = s => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const behind = el => { let layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let rgb = [255, 255, 255];
    for (const c of layers.reverse()) rgb = rgb.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
    return rgb; };
  const out = [];
  for (const banner of document.querySelectorAll('.dv-banner')) {
    const els = [banner, ...banner.querySelectorAll('p, .admonition-title, strong, code, a, em')];
    for (const el of els) {
      const text = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
      const r = el.getBoundingClientRect();
      if (!text || r.width === 0) continue;
      const fg = parse(getComputedStyle(el).color);
      const bg = behind(el);
      out.push({text: text.slice(0, 40), fg: fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3])), bg});
    }
  }
  return out;
}
"""

_MATHS_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    try { await MathJax.startup.promise; } catch (e) {}
  }
  const maths = Array.from(document.querySelectorAll('.math'));
  const unrendered = maths.filter(m => !m.querySelector('mjx-container') && !m.matches('mjx-container')).length;
  const main = (document.querySelector('main') || document.body).cloneNode(true);
  main.querySelectorAll('pre, code, script, style, mjx-container').forEach(e => e.remove());
  const raw = /\\\\\\(|\\\\\\[/.test(main.textContent);
  const scripts = Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s));
  return {count: maths.length, unrendered, raw, scripts};
}
"""

# Where the scorecard's verdict counts are, against the first verdict table and the first screen.
_COUNTS_JS = """
() => {
  const table = Array.from(document.querySelectorAll('table.dv-scorecard-table')).find(
    t => Array.from(t.querySelectorAll('th')).some(th => /^\\s*verdict\\s*$/i.test(th.textContent)));
  if (!table) return null;
  const counts = document.querySelector('.dv-verdict-counts');
  const top = e => e.getBoundingClientRect().top + window.scrollY;
  if (!counts) return {found: false, tableY: top(table)};
  const r = counts.getBoundingClientRect();
  const badges = Array.from(counts.querySelectorAll('.dv-count')).map(b => ({
    text: b.textContent.trim(), bg: getComputedStyle(b).backgroundColor, cls: b.className}));
  return {found: true, y: top(counts), bottom: r.bottom + window.scrollY, tableY: top(table), badges,
          screen: window.innerHeight};
}
"""

_PHONE_JS = """
() => {
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  const hidden = [];
  for (const th of document.querySelectorAll('th')) {
    if (!/verdict/i.test(th.textContent)) continue;
    const r = th.getBoundingClientRect();
    if (r.width > 0 && r.right <= window.innerWidth + 1) continue;
    let scrolls = false;
    for (let e = th.parentElement; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (/(auto|scroll)/.test(s.overflowX) && e.scrollWidth > e.clientWidth) { scrolls = true; break; }
    }
    if (!scrolls || r.width === 0) hidden.push(th.textContent.trim().slice(0, 30));
  }
  return {overflow, hidden};
}
"""


def _rgb(values: list[float]) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))


def _check_view(page, view: View, name: str, report: PageReport, standin: bool | None, need_figures: str,
                origin: str) -> None:
    """Run the checks of one view of a loaded page, adding to ``report``."""
    tag = f"[{view.name}] "
    if view.dark:
        page.evaluate("() => { document.documentElement.dataset.theme = 'dark';"
                      " document.documentElement.dataset.mode = 'dark'; }")
    if view.name == "desktop-light":
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0,"
            " !!i.closest('.cell_output, figure'), (i.getAttribute('alt') || '').trim(),"
            " i.getBoundingClientRect().top + window.scrollY])")
        report.images = len(images)
        report.broken_images = [src for src, ok, *_ in images if not ok]
        figures = [y for _, ok, in_output, _, y in images if ok and in_output]
        report.output_figures = len(figures)
        report.first_figure_y = int(min(figures)) if figures else None
        report.images_without_alt = sum(1 for _, _, _, alt, _ in images if not alt or alt.endswith((".png", ".svg")))
        report.errors = page.locator(".cell_output .output.error, .cell_output .output.traceback").count()
        report.errors += page.locator(".cell_output:has-text('Traceback (most recent call last)')").count()
        if report.broken_images:
            report.problems.append(f"images that did not load: {report.broken_images}")
        if name.startswith(need_figures) and report.output_figures == 0:
            report.problems.append("a chapter page without any figure")
        if name.startswith(need_figures) and report.first_figure_y is not None \
                and report.first_figure_y > FIRST_FIGURE_MAX_Y:
            report.problems.append(f"the first figure starts {report.first_figure_y} px down the page, more than "
                                   f"{FIRST_FIGURE_MAX_Y} px at {view.width} px width")
        hidden_code = page.evaluate(
            "Array.from(document.querySelectorAll('main pre')).filter(p => p.getBoundingClientRect().width > 0"
            " && p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.trim().split('\\n')[0].slice(0, 40))")
        if hidden_code:
            report.problems.append(f"{len(hidden_code)} code block(s) hide text to the right at {view.width} px "
                                   f"(first: {hidden_code[0]!r})")
        counts = page.evaluate(_COUNTS_JS)
        if counts is not None:
            if not counts["found"]:
                report.problems.append("a verdict table without the coloured verdict counts (.dv-verdict-counts)")
            else:
                report.verdict_counts_y = int(counts["y"])
                if counts["y"] > counts["tableY"]:
                    report.problems.append("the verdict counts are below the verdict table, not above it")
                if counts["bottom"] > counts["screen"]:
                    report.problems.append(f"the verdict counts end {int(counts['bottom'])} px down, below the "
                                           f"first screen ({counts['screen']} px)")
                plain = [b["text"] for b in counts["badges"] if not re.search(r"rgba?\((?!0, 0, 0, 0\))", b["bg"])
                         or "dv-v-" not in b["cls"]]
                if not counts["badges"] or plain:
                    report.problems.append(f"verdict counts without a badge colour: {plain or 'no badges'}")
        if report.images_without_alt:
            report.problems.append(f"{report.images_without_alt} image(s) without alt text (use a glued, captioned "
                                   "figure with :alt:)")
        if report.errors:
            report.problems.append(f"{report.errors} error output(s)")
        maths = page.evaluate(_MATHS_JS)
        report.maths = maths["count"]
        if maths["unrendered"] or maths["raw"]:
            report.problems.append(f"maths not rendered ({maths['unrendered']} of {maths['count']} formulas; raw "
                                   f"LaTeX in the text: {'yes' if maths['raw'] else 'no'})")
        external = [s for s in maths["scripts"] if not s.startswith(origin)]
        if external:
            report.problems.append(f"MathJax is not served with the book: {external}")
    report.banner = report.banner or page.locator(".dv-banner").count() > 0
    if standin:
        if page.locator(".dv-banner").count() == 0:
            report.problems.append(tag + "built on a stand-in but the stand-in banner is missing")
        for item in page.evaluate(_BANNER_COLOURS_JS):
            ratio = contrast_ratio(_rgb(item["fg"]), _rgb(item["bg"]))
            report.min_banner_contrast = min(ratio, report.min_banner_contrast or ratio)
            if ratio < MIN_CONTRAST:
                report.problems.append(f"{tag}banner text {item['text']!r} has contrast {ratio:.2f} < {MIN_CONTRAST}")
                break
    if view.width < 600:
        phone = page.evaluate(_PHONE_JS)
        if phone["overflow"] > 1:
            report.problems.append(f"{tag}the page scrolls sideways by {phone['overflow']} px")
        if phone["hidden"]:
            report.problems.append(f"{tag}verdict column out of view: {phone['hidden']}")


def check_site(html: Path, screenshots: Path | None = None, pages: list[str] | None = None,
               need_figures: str = "notebooks/0", standin: bool | None = None,
               views: tuple[View, ...] = VIEWS) -> list[PageReport]:
    """Check every page of a built book in every view; returns one report per page.

    ``pages``: paths relative to ``html`` (default: :func:`book_pages`). ``need_figures``: pages whose path
    starts with this must show at least one output figure. ``standin``: if True every page must show the run
    banner, readable in every view (``None``: not checked).
    """
    from playwright.sync_api import sync_playwright

    html = Path(html)
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found: install Debian's 'chromium' package (apt-get install chromium)")
    pages = pages or book_pages(html)
    if not pages:
        raise FileNotFoundError(f"no pages under {html}: build the book first (jupyter-book build .)")
    server, base = _serve(html)
    reports = {name: PageReport(name) for name in pages}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for view in views:
                context = browser.new_context(viewport={"width": view.width, "height": view.height},
                                              color_scheme="dark" if view.dark else "light")
                # An offline reader: anything not served by the book itself fails to load.
                context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                              else route.abort())
                page = context.new_page()
                for name in pages:
                    report = reports[name]
                    response = page.goto(f"{base}/{name}", wait_until="load")
                    if response is None or response.status != 200:
                        report.problems.append(f"[{view.name}] HTTP {response.status if response else 'no response'}")
                        continue
                    _check_view(page, view, name, report, standin, need_figures, base)
                    if screenshots is not None:
                        screenshots.mkdir(parents=True, exist_ok=True)
                        stem = name.replace("/", "__")
                        if view.name == "desktop-light":
                            page.screenshot(path=str(screenshots / f"{stem}.png"), full_page=True)
                        else:
                            page.screenshot(path=str(screenshots / f"{stem}.{view.name}.png"))
                context.close()
            browser.close()
    finally:
        server.shutdown()
    return list(reports.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m darkness_visible.tools.check_site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", type=Path, help="the built HTML folder (e.g. _build/html)")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for the screenshots")
    parser.add_argument("--standin", action="store_true",
                        help="require the run banner, readable in light and dark mode, on every page")
    args = parser.parse_args(argv)
    reports = check_site(args.html, args.screenshots, standin=args.standin or None)
    failed = 0
    for r in reports:
        status = "ok" if not r.problems else "FAIL: " + "; ".join(r.problems)
        contrast = f"{r.min_banner_contrast:.1f}" if r.min_banner_contrast is not None else "-"
        first = f", first figure at {r.first_figure_y} px" if r.first_figure_y is not None else ""
        first += f", verdict counts at {r.verdict_counts_y} px" if r.verdict_counts_y is not None else ""
        alt = f", {r.images_without_alt} image(s) without alt text" if r.images_without_alt else ""
        print(f"{r.page}: {r.output_figures} figure(s){first}, {r.maths} formula(s), banner="
              f"{'yes' if r.banner else 'no'} (min contrast {contrast}){alt}: {status}")
        failed += bool(r.problems)
    print(f"site check: {len(reports) - failed} page(s) ok, {failed} with problems")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
