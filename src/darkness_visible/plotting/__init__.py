"""Figure helpers for the chapters: a colour-blind-safe palette, figures drawn at the width the page shows
them, and text with each token shaded by an activation, as static HTML for the book and for a notebook.

- :data:`PALETTE`: the Okabe-Ito colours (distinguishable with the common colour-vision deficiencies).
- :func:`content_figure`: a Matplotlib figure sized to the book's content column, so fonts come out at the
  size they were set (a figure drawn wider is scaled down, and its labels shrink with it).
- :func:`~darkness_visible.plotting.tokens.token_heatmap_html`: the text itself with tokens shaded by, e.g.,
  N2123's activation; self-contained HTML (inline styles, escaped text, a legend) that reads the same in the
  book, light or dark, and in Jupyter.
- :data:`WIDTH` and :func:`wrap`: the content width in inches, and long run labels broken for titles.
- :func:`finish`: the one house style of a single-axes figure (10 pt labels and title, 9 pt ticks, the
  legend below the axes, the run's label under the title), so every chapter's figures read alike.

Drawing only: no analysis lives here.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

#: Okabe & Ito (2008) colour-blind-safe palette, in their order (black last).
PALETTE: dict[str, str] = {
    "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7", "black": "#000000",
}
#: The palette as a list, for ``plt.rcParams["axes.prop_cycle"]`` or ``color=CYCLE[i]``.
CYCLE: list[str] = list(PALETTE.values())
#: Width of the book's content column in inches at :data:`DPI` (sphinx-book-theme on a desktop screen):
#: figures drawn at this width are never rescaled, so their fonts show at the size they were set.
WIDTH = 7.3
CONTENT_WIDTH_IN = WIDTH
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


def wrap(text: str, width: int = 80) -> str:
    """``text`` broken into lines of at most ``width`` characters (for long run labels in titles)."""
    return "\n".join(textwrap.wrap(text, width)) or text


def finish(ax: Any, *, xlabel: str | None = None, ylabel: str | None = None, title: str | None = None,
           label: str | None = None, legend_ncol: int = 2, legend_y: float = -0.22, legend: bool = True) -> Any:
    """Give one axes the house style and lay its figure out; returns the figure.

    Axis labels and title at 10 pt, tick labels at 9 pt; ``label`` (which run drew it) is wrapped under the
    title; the legend, if ``legend`` and the axes has labelled artists, goes below the axes in
    ``legend_ncol`` columns, its top ``legend_y`` axes-heights under them (more negative when the x tick
    labels are tall). A ``None`` text leaves what the axes already has.
    """
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=10)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=10)
    ax.tick_params(labelsize=9)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, legend_y), ncol=legend_ncol, frameon=False)
    if title is not None:
        ax.set_title(title if label is None else f"{title}\n{wrap(label, 80)}", fontsize=10)
    fig = ax.figure
    fig.tight_layout()
    return fig
