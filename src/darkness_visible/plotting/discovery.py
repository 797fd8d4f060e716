"""Figures of discovery: where a handler appears across the layers of one model (the depth sweep).

Drawing only: the numbers come from :mod:`darkness_visible.discovery.depth`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from darkness_visible.plotting import WIDTH


def depth_figure(table: pd.DataFrame, label: str, ax: Any = None):
    """Where a handler appears: per layer, the indicator's bootstrap stability (share of window resamples that
    pick it; a square where the layer only echoes an earlier handler, a cross where no handler is found; the
    dashed line is the stability a handler needs) and the Core
    size. Drawn at the book's content width, legend below the panels. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

    from darkness_visible.discovery.discover import DiscoverConfig

    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.8))
    else:
        axes, fig = ax, ax[0].figure
    own = table["handler"] if "handler" in table else table.found
    status = np.where(own, "handler found", np.where(table.found, "downstream of a handler", "no handler"))
    order = [k for k in ("handler found", "downstream of a handler", "no handler") if k in set(status)] or \
        ["no handler"]
    t = table.assign(status=status, share=table.indicator_share.where(table.found, 0.0))
    sns.scatterplot(data=t, x="layer", y="share", hue="status", style="status", hue_order=order, style_order=order,
                    markers={"handler found": "o", "downstream of a handler": "s", "no handler": "X"}, s=80,
                    ax=axes[0])
    stable = DiscoverConfig().stable_share
    axes[0].axhline(stable, color="grey", lw=1, ls="--", label=f"stability needed ({stable:g})")
    axes[0].set(ylim=(-0.05, 1.05), ylabel="indicator stability\n(share of resamples)",
                title="where an exception indicator is found")
    handles, labels = axes[0].get_legend_handles_labels()
    if axes[0].get_legend() is not None:
        axes[0].get_legend().remove()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    axes[0].set_xticks(list(t.layer))
    sns.barplot(data=t, x="layer", y="core_size", color="C0", ax=axes[1])
    axes[1].set(ylabel="Core size (indicator included)", title="size of the Core")
    for ax in axes[:2]:
        ax.title.set_fontsize(10)
    fig.suptitle(label, fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def family_figure(points: pd.DataFrame, title: str = "where a handler appears, relative to depth"):
    """The depth prediction across models: one line per model and weights (``points`` from
    :func:`darkness_visible.discovery.family.depth_points`), each of its layers at its relative depth (0 = the first
    block, 1 = the last), a filled circle where discovery finds a handler, a square where a layer only echoes an
    earlier handler, a small cross where it finds none. The paper's prediction is a circle at 1.0 and nowhere else.
    Drawn at the book's content width. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    t = points.assign(line=[f"{m} ({w}, {n} layers)" for m, w, n in
                            zip(points.model, points.weights, points.n_layers, strict=True)])
    order = [k for k in ("handler found", "downstream of a handler", "no handler") if k in set(t.status)]
    fig, ax = plt.subplots(figsize=(WIDTH, 0.6 * t.line.nunique() + 1.8))
    sns.scatterplot(data=t, x="relative_depth", y="line", hue="status", style="status", hue_order=order,
                    style_order=order, markers={"handler found": "o", "downstream of a handler": "s",
                                                "no handler": "X"},
                    sizes={"handler found": 110, "downstream of a handler": 80, "no handler": 30}, size="status",
                    ax=ax)
    ax.axvline(1.0, color="grey", lw=1, ls="--")
    ax.set(xlim=(-0.05, 1.1), xlabel="relative depth of the layer (0 = first block, 1 = last block)", ylabel="",
           title=title)
    ax.title.set_fontsize(10)
    handles, labels = ax.get_legend_handles_labels()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig
