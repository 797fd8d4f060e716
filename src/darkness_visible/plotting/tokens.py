"""Text with each token shaded by a neuron's activation, as static HTML.

The output is self-contained HTML (inline styles, no script), so it renders the same in the built book,
in Jupyter and in Colab (``IPython.display.HTML(token_heatmap_html(...))``), in light and dark themes:
every token is a light box with dark text, whatever the page's background.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

#: Colour-blind-safe ends of the diverging scale (Okabe-Ito / seaborn "colorblind": vermillion-orange, blue).
POSITIVE = (230, 159, 0)
NEGATIVE = (0, 114, 178)
WHITE = (255, 255, 255)


def _blend(colour: tuple[int, int, int], t: float) -> str:
    """``colour`` mixed with white: ``t = 0`` is white, ``t = 1`` the full colour (``#rrggbb``)."""
    t = min(max(t, 0.0), 1.0)
    r, g, b = (round(w + (c - w) * t) for c, w in zip(colour, WHITE, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def token_colour(value: float, vmax: float) -> str:
    """Background colour of one token: orange for positive, blue for negative, intensity ``|value| / vmax``.

    NaN (no value) and ``vmax <= 0`` give white.
    """
    if not math.isfinite(value) or vmax <= 0:
        return "#ffffff"
    return _blend(POSITIVE if value >= 0 else NEGATIVE, abs(value) / vmax)


def _shown(token: str) -> str:
    """A token as displayed: newlines as ``↵`` (and a line break), tabs as ``→``; spaces kept."""
    return html.escape(token).replace("\t", "→").replace("\n", "↵<br>")


def token_heatmap_html(tokens: Sequence[str], values: Sequence[float] | np.ndarray, *, label: str = "activation",
                       vmax: float | None = None, title: str | None = None, decimals: int = 2,
                       legend: bool = True) -> str:
    """HTML of ``tokens`` in reading order, each shaded by its value, with a legend of the scale.

    Args:
        tokens: ``[T]`` decoded tokens (e.g. ``[tokenizer.decode([t]) for t in ids]``); HTML is escaped.
        values: ``[T]`` one number per token (e.g. a neuron's post-GELU activation); NaN leaves a token white.
        label: what the values are, for the legend (e.g. ``"N2123 post-GELU"``).
        vmax: the value drawn at full colour (default: the largest ``|value|``); larger values saturate.
        title: an optional heading line above the text.
        decimals: decimals of the value shown on hover (the ``title`` attribute) and in the legend.
        legend: whether to add the legend (leave it off all but the last of several heatmaps on one scale).

    Returns:
        One ``<div>``: the optional title, the tokens as ``<span>`` boxes (hover shows the value), and a legend
        ``−vmax … 0 … +vmax``.
    """
    vals = np.asarray(values, dtype=float).reshape(-1)
    if len(tokens) != len(vals):
        raise ValueError(f"{len(tokens)} tokens but {len(vals)} values: give one value per token")
    finite = vals[np.isfinite(vals)]
    if vmax is None:
        vmax = float(np.abs(finite).max()) if finite.size else 0.0
    spans = []
    for token, value in zip(tokens, vals, strict=True):
        shown = "n/a" if not math.isfinite(value) else f"{value:+.{decimals}f}"
        spans.append(
            f'<span class="dv-token" title="{html.escape(label)} = {shown}" style="background:'
            f'{token_colour(value, vmax)};color:#111;border-radius:3px;padding:1px 0;'
            f'white-space:pre-wrap">{_shown(token)}</span>'
        )
    stops = [(-vmax, token_colour(-vmax, vmax)), (0.0, "#ffffff"), (vmax, token_colour(vmax, vmax))]
    stops_html = "".join(
        f'<span style="background:{c};color:#111;padding:1px 6px;border:1px solid #999;margin-right:4px">'
        f"{v:+.{decimals}f}</span>" for v, c in stops)
    head = f'<div style="font-weight:bold;margin-bottom:4px">{html.escape(title)}</div>' if title else ""
    bar = (f'<div class="dv-token-legend" style="font-size:0.85em;margin-top:6px">{html.escape(label)}: '
           f"{stops_html}(blue: negative, orange: positive; hover a token for its value)</div>") if legend else ""
    return (
        '<div class="dv-token-heatmap" style="font-family:monospace;line-height:1.9;background:#fff;color:#111;'
        'padding:6px 8px;border:1px solid #ccc;border-radius:4px;max-width:100%;overflow-wrap:anywhere">'
        f'{head}<div>{"".join(spans)}</div>{bar}</div>'
    )
