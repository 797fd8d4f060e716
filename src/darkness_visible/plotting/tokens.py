"""Text with every token shaded by a value (a neuron's activation, a surprisal), as static HTML.

The HTML uses inline styles only, so it renders the same in the built book, in Jupyter and on GitHub's
notebook viewer; show it with ``IPython.display.HTML(token_heatmap_html(...))``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

__all__ = ["token_heatmap_html"]


def _rgb(cmap: str, x: float) -> tuple[int, int, int]:
    from matplotlib import colormaps

    r, g, b, _ = colormaps[cmap](float(np.clip(x, 0.0, 1.0)))
    return round(255 * r), round(255 * g), round(255 * b)


def _ink(rgb: tuple[int, int, int]) -> str:
    """Black or white text, whichever contrasts more with the background (WCAG relative luminance)."""
    def lin(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])
    return "#000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#fff"


def _show(token: str) -> str:
    """A token as visible text: newlines and tabs as symbols, spaces kept (the span uses white-space: pre)."""
    return html.escape(token.replace("\n", "↵").replace("\t", "⇥"))


def token_heatmap_html(tokens: Sequence[str], values: Sequence[float] | np.ndarray, *, label: str = "value",
                       vmin: float | None = None, vmax: float | None = None, cmap: str = "Blues",
                       title: str | None = None, decimals: int = 3, legend: bool = True) -> str:
    """HTML for ``tokens`` (``[T]`` strings, e.g. ``tokenizer.decode([id])`` each) shaded by ``values`` (``[T]``).

    Colour = ``cmap`` (a matplotlib colormap name; the default "Blues" is colour-blind safe) at
    ``(value - vmin) / (vmax - vmin)``, clipped; ``vmin``/``vmax`` default to ``min(0, min(values))`` and
    ``max(values)``: pass the same pair to several calls to make them comparable. NaN values are left
    unshaded. Each token's exact value is in its tooltip; text colour is chosen for contrast. Everything
    is HTML-escaped. With ``legend`` a colour bar with ``label`` and the range follows the text.
    """
    vals = np.asarray(values, dtype=float)
    if vals.shape != (len(tokens),):
        raise ValueError(f"need one value per token: {len(tokens)} tokens, values of shape {vals.shape}")
    finite = vals[np.isfinite(vals)]
    lo = float(min(0.0, finite.min())) if vmin is None and finite.size else (vmin if vmin is not None else 0.0)
    hi = float(finite.max()) if vmax is None and finite.size else (vmax if vmax is not None else 1.0)
    span = hi - lo if hi > lo else 1.0
    parts = []
    for token, v in zip(tokens, vals, strict=True):
        tip = html.escape(f"{token!r}: {label} = {v:.{decimals}f}")
        if np.isfinite(v):
            rgb = _rgb(cmap, (v - lo) / span)
            style = f"background:rgb{rgb};color:{_ink(rgb)};"
        else:
            style = ""
        parts.append(f'<span class="dv-token" title="{tip}" style="{style}white-space:pre;'
                     f'border-radius:2px;padding:1px 0">{_show(token)}</span>')
    head = f'<div class="dv-token-title" style="font-weight:bold">{html.escape(title)}</div>' if title else ""
    body = (f'<div class="dv-token-text" style="font-family:monospace;line-height:1.9;background:#fff;'
            f'color:#000;padding:4px">{"".join(parts)}</div>')
    bar = ""
    if legend:
        stops = ", ".join(f"rgb{_rgb(cmap, x)} {100 * x:.0f}%" for x in np.linspace(0, 1, 6))
        bar = (f'<div class="dv-token-legend" style="display:flex;align-items:center;gap:6px;font-size:0.85em">'
               f'<span>{html.escape(label)}:</span><span>{lo:.{decimals}g}</span>'
               f'<span style="display:inline-block;width:160px;height:10px;'
               f'background:linear-gradient(to right, {stops})">'
               f'</span><span>{hi:.{decimals}g}</span></div>')
    return f'<div class="dv-token-heatmap">{head}{body}{bar}</div>'
