"""Open the built book in headless Chromium, as a reader would, and check every chapter page.

``python -m darkness_visible.tools.check_site _build/html [--screenshots DIR]`` serves the HTML on
localhost, opens each chapter page (``notebooks/*.html``) in Debian's Chromium through Playwright, and
checks that every image has loaded, that chapter pages show at least one figure, that no cell shows an
error or a traceback, and that a page built on a random-weight model carries the stand-in banner. It
saves a full-page screenshot of each page and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass
class PageReport:
    """What was found on one page."""

    page: str
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    output_figures: int = 0
    errors: int = 0
    banner: bool = False
    problems: list[str] = field(default_factory=list)


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def check_site(html: Path, screenshots: Path | None = None, pages: list[str] | None = None,
               need_figures: str = "notebooks/0", standin: bool | None = None) -> list[PageReport]:
    """Check the chapter pages of a built book; returns one report per page.

    ``need_figures``: pages whose path starts with this must show at least one output figure.
    ``standin``: if True every page must show the stand-in banner (``None``: not checked).
    """
    from playwright.sync_api import sync_playwright

    html = Path(html)
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found: install Debian's 'chromium' package (apt-get install chromium)")
    pages = pages or sorted(str(p.relative_to(html)) for p in (html / "notebooks").glob("*.html"))
    if not pages:
        raise FileNotFoundError(f"no chapter pages under {html}/notebooks: build the book first")
    server, base = _serve(html)
    reports = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            for name in pages:
                report = PageReport(name)
                response = page.goto(f"{base}/{name}", wait_until="load")
                if response is None or response.status != 200:
                    report.problems.append(f"HTTP {response.status if response else 'no response'}")
                images = page.evaluate(
                    "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0,"
                    " !!i.closest('.cell_output')])")
                report.images = len(images)
                report.broken_images = [src for src, ok, _ in images if not ok]
                report.output_figures = sum(1 for _, ok, in_output in images if ok and in_output)
                report.errors = page.locator(".cell_output .output.error, .cell_output .output.traceback").count()
                report.errors += page.locator(".cell_output:has-text('Traceback (most recent call last)')").count()
                report.banner = page.locator(".dv-banner").count() > 0
                if report.broken_images:
                    report.problems.append(f"images that did not load: {report.broken_images}")
                if name.startswith(need_figures) and report.output_figures == 0:
                    report.problems.append("a chapter page without any figure")
                if report.errors:
                    report.problems.append(f"{report.errors} error output(s)")
                if standin and not report.banner:
                    report.problems.append("built on a stand-in but the stand-in banner is missing")
                if screenshots is not None:
                    screenshots.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(screenshots / (name.replace("/", "__") + ".png")), full_page=True)
                reports.append(report)
            browser.close()
    finally:
        server.shutdown()
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m darkness_visible.tools.check_site", description=__doc__)
    parser.add_argument("html", type=Path, help="the built HTML folder (e.g. _build/html)")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for one PNG per page")
    parser.add_argument("--standin", action="store_true", help="require the stand-in banner on every page")
    args = parser.parse_args(argv)
    reports = check_site(args.html, args.screenshots, standin=args.standin or None)
    failed = 0
    for r in reports:
        status = "ok" if not r.problems else "FAIL: " + "; ".join(r.problems)
        print(f"{r.page}: {r.output_figures} figure(s), banner={'yes' if r.banner else 'no'}: {status}")
        failed += bool(r.problems)
    print(f"site check: {len(reports) - failed} page(s) ok, {failed} with problems")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
