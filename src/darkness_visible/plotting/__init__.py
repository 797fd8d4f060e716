"""Figure helpers for the chapters: a colour-blind-safe palette, figures drawn at the width the page shows
them, and text with each token shaded by an activation, as static HTML for the book and for a notebook.

- :data:`PALETTE`: the Okabe-Ito colours (distinguishable with the common colour-vision deficiencies).
- :func:`content_figure`: a Matplotlib figure sized to the book's content column, so fonts come out at the
  size they were set (a figure drawn wider is scaled down, and its labels shrink with it).
- :func:`token_heatmap_html`: the text itself with tokens shaded by, e.g., N2123's activation; self-contained
  HTML (inline styles, escaped text, a legend) that reads the same in the book, light or dark, and in Jupyter.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Okabe & Ito (2008) colour-blind-safe palette, in their order (black last).
PALETTE: dict[str, str] = {
    "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7", "black": "#000000",
}
#: The palette as a list, for ``plt.rcParams["axes.prop_cycle"]`` or ``color=CYCLE[i]``.
CYCLE: list[str] = list(PALETTE.values())
#: Width of the book's content column in inches at :data:`DPI` (sphinx-book-theme on a desktop screen).
CONTENT_WIDTH_IN = 7.5
DPI = 100


def content_figure(height_ratio: float = 0.55, *, ncols: int = 1, nrows: int = 1, **kwargs: Any):
    """A Matplotlib ``(figure, axes)`` as wide as the book's content column, ``height_ratio`` × as tall.

    Extra keyword arguments go to :func:`matplotlib.pyplot.subplots`. The palette is :data:`CYCLE`.
    """
    if not 0.1 <= height_ratio <= 3:
        raise ValueError(f"height_ratio={height_ratio}: use a value between 0.1 and 3 (height / width)")
    import matplotlib.pyplot as plt
    from cycler import cycler

    with plt.rc_context({"axes.prop_cycle": cycler(color=CYCLE)}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(CONTENT_WIDTH_IN, CONTENT_WIDTH_IN * height_ratio),
                                 dpi=DPI, layout="constrained", **kwargs)
        for ax in np.atleast_1d(axes).ravel():
            ax.set_prop_cycle(cycler(color=CYCLE))
    return fig, axes


def _blend(low: tuple[int, int, int], high: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    r, g, b = (round(a + (b - a) * t) for a, b in zip(low, high, strict=True))
    return (r, g, b)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _ink(rgb: tuple[int, int, int]) -> str:
    """Black or white text, whichever contrasts more with ``rgb``."""
    lum = sum(w * ((c / 255) / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4)
              for w, c in zip((0.2126, 0.7152, 0.0722), rgb, strict=True))
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


WHITE, BLUE, ORANGE = (255, 255, 255), (0, 114, 178), (213, 94, 0)


def _colour(value: float, vmin: float, vmax: float, diverging: bool) -> tuple[int, int, int]:
    if diverging:
        bound = max(abs(vmin), abs(vmax)) or 1.0
        t = float(np.clip(value / bound, -1, 1))
        return _blend(WHITE, ORANGE if t > 0 else BLUE, abs(t))
    span = (vmax - vmin) or 1.0
    return _blend(WHITE, BLUE, float(np.clip((value - vmin) / span, 0, 1)))


def token_heatmap_html(tokens: Sequence[str], values: Any, *, vmin: float | None = None,
                       vmax: float | None = None, label: str = "activation", title: str | None = None,
                       diverging: bool | None = None, precision: int = 3) -> str:
    """The tokens as text, each shaded by its value, with a legend; self-contained, escaped HTML.

    ``values``: one finite number per token (e.g. a neuron's post-GELU activation). The scale runs from
    ``vmin`` to ``vmax`` (default: the values' range); ``diverging`` (default: when the values have both
    signs) shades negative values blue and positive ones orange around white, otherwise white to blue.
    Hovering a token shows its value. Show it with ``IPython.display.HTML(token_heatmap_html(...))``.
    """
    vals = np.asarray(values, dtype=float).ravel()
    tokens = list(tokens)
    if len(tokens) != vals.size:
        raise ValueError(f"{len(tokens)} tokens but {vals.size} values: pass one value per token")
    if not tokens:
        raise ValueError("no tokens: pass at least one token and its value")
    if not np.all(np.isfinite(vals)):
        raise ValueError("values contain NaN or infinity: mask or drop those tokens first")
    lo = float(vals.min()) if vmin is None else float(vmin)
    hi = float(vals.max()) if vmax is None else float(vmax)
    if lo > hi:
        raise ValueError(f"vmin={lo} is above vmax={hi}: swap them")
    div = bool(lo < 0 < hi) if diverging is None else diverging
    spans = []
    for token, value in zip(tokens, vals, strict=True):
        rgb = _colour(value, lo, hi, div)
        text = html.escape(token).replace("\n", "↵<br>")
        spans.append(f'<span title="{html.escape(label)} = {value:.{precision}f}" style="background:{_hex(rgb)};'
                     f'color:{_ink(rgb)};padding:1px 0;border-radius:2px">{text}</span>')
    stops = [_colour(v, lo, hi, div) for v in np.linspace(lo, hi, 7)]
    gradient = ", ".join(_hex(c) for c in stops)
    legend = (f'<div style="display:flex;align-items:center;gap:0.5em;margin-top:0.6em;font-size:0.85em">'
              f"<span>{lo:.{precision}g}</span>"
              f'<span style="display:inline-block;width:10em;height:0.9em;border:1px solid #888;'
              f'background:linear-gradient(to right, {gradient})"></span>'
              f"<span>{hi:.{precision}g}</span><span>{html.escape(label)}</span></div>")
    head = f'<div style="font-weight:600;margin-bottom:0.4em">{html.escape(title)}</div>' if title else ""
    return (f'<div class="dv-token-heatmap" style="background:#ffffff;color:#000000;padding:0.6em 0.8em;'
            f'border:1px solid #ccc;border-radius:4px;line-height:1.9;white-space:pre-wrap;'
            f'font-family:var(--pst-font-family-monospace, monospace)">{head}'
            f'<div>{"".join(spans)}</div>{legend}</div>')
