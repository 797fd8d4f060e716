"""Chapter 06's figures: the per-layer co-firing profile, the last layer's heads, the logit and tuned lenses,
the random-weight null's consensus profile and the firing-threshold sweep.

Drawing only: the numbers come from :mod:`darkness_visible.analysis.crosslayer`,
:mod:`darkness_visible.analysis.controls` and :mod:`darkness_visible.lens.lenses`. Each function takes
``paper=True`` to draw the paper's GPT-2 values beside the run's, which a chapter asks for only where they
apply (a model of GPT-2 Small's depth); every figure is drawn at the book's content width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from darkness_visible.plotting import WIDTH

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Column of the per-layer survey -> its name in the profile's legend.
PROFILE_MEASURES: dict[str, str] = {
    "max_jaccard": "automatic, over all tokens (paper's table)",
    "max_jaccard_within": "automatic, within exception tokens",
    "handler_max_jaccard": "discovered handler, pairwise",
}


def _ticks(ax, n_layers: int) -> None:
    ax.set_xticks(range(0, n_layers, max(1, n_layers // 12)))


def profile_figure(survey: pd.DataFrame, n_layers: int, paper: bool = False) -> Figure:
    """Max Jaccard (three measures) and max enrichment at every layer of the per-layer ``survey``
    (columns ``layer`` and those of :data:`PROFILE_MEASURES`, ``max_enrichment``), with the paper's E10 table
    and its "L11 known" 0.998 when ``paper``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.analysis.crosslayer import PAPER_E10
    from darkness_visible.report.crosslayer import PAPER_KNOWN

    profile = survey.melt(id_vars="layer", value_vars=list(PROFILE_MEASURES), var_name="measure",
                          value_name="Jaccard")
    profile["measure"] = profile.measure.map(PROFILE_MEASURES)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 4.6))
    sns.lineplot(data=profile, x="layer", y="Jaccard", hue="measure", marker="o", ax=axes[0])
    if paper:
        layers = sorted(PAPER_E10)
        axes[0].plot(layers, [PAPER_E10[layer][3] for layer in layers], "k--", lw=1,
                     label="paper, over all tokens (GPT-2)")
        axes[0].scatter([layers[-1]], [PAPER_KNOWN["max_jaccard"]], marker="*", s=150, color="k",
                        label=f"paper 'L{layers[-1]} known' {PAPER_KNOWN['max_jaccard']} (within exception tokens)")
    axes[0].set(ylim=(0, 1.05), title="max Jaccard per layer")
    sns.lineplot(data=survey, x="layer", y="max_enrichment", marker="o", ax=axes[1], label="this run", color="C4")
    if paper:
        axes[1].plot(layers, [PAPER_E10[layer][4] for layer in layers], "k--", lw=1, label="paper (GPT-2)")
    axes[1].set(title="max enrichment P(n | exc) / P(n)", ylabel="enrichment")
    handles, labels = axes[0].get_legend_handles_labels()
    h2, l2 = axes[1].get_legend_handles_labels()
    for ax in axes:
        _ticks(ax, n_layers)
        ax.get_legend().remove()
        ax.title.set_fontsize(10)
    fig.legend(handles + h2, labels + [f"enrichment: {x}" for x in l2], loc="lower center", ncol=2, fontsize=8.5,
               frameon=False)
    fig.suptitle("Does the last layer's co-firing stand out? Jaccard and enrichment at every layer", fontsize=10)
    fig.tight_layout(rect=(0, 0.22, 1, 1))
    return fig


def heads_figure(importance: np.ndarray, layer: int) -> Figure:
    """Mean norm of each attention head's output at ``layer`` (``importance [n_head]``), as bars."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    importance = np.asarray(importance, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.4))
    sns.barplot(x=[f"H{h}" for h in range(len(importance))], y=importance, color="C0", ax=ax)
    ax.set(xlabel=f"head of layer {layer}", ylabel="mean ‖head output‖",
           title=f"Which head of layer {layer} writes the most? Mean norm of each head's output")
    ax.title.set_fontsize(10)
    fig.tight_layout()
    return fig


def lens_figure(lens_frame: pd.DataFrame, labels: Sequence[str], paper: bool = False) -> Figure:
    """Top-1 accuracy per residual state and where tokens first lock in, for each lens in ``lens_frame``
    (:func:`darkness_visible.lens.lenses.lens_table`; ``labels``: the states' names), with the paper's logit
    and tuned curves when ``paper``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.report.lens import PAPER_LOGIT_TOP1, PAPER_TUNED_TOP1

    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 4.4))
    sns.lineplot(data=lens_frame, x="index", y="top1_pct", hue="lens", marker="o", ax=axes[0])
    if paper:
        axes[0].plot(range(len(PAPER_LOGIT_TOP1)), PAPER_LOGIT_TOP1, "C0--", lw=1, label="paper logit (GPT-2)")
        axes[0].plot(range(len(PAPER_TUNED_TOP1)), PAPER_TUNED_TOP1, "C1--", lw=1, label="paper tuned (GPT-2)")
    axes[0].set_xticks(range(len(labels)), list(labels), rotation=60)
    axes[0].set(xlabel="state", ylabel="top-1 accuracy (%)", title="lens accuracy per state")
    sns.barplot(data=lens_frame, x="state", y="lockin_pct", hue="lens", ax=axes[1])
    axes[1].tick_params(axis="x", rotation=60)
    axes[1].set(ylabel="first lock-in (% of tokens)", title="where tokens first lock in")
    handles, names = axes[0].get_legend_handles_labels()
    for ax in axes:
        ax.get_legend().remove()
        ax.title.set_fontsize(10)
    fig.legend(handles, names, loc="lower center", ncol=4, fontsize=9, frameon=False)
    fig.suptitle("At which layer does each lens first predict the next token?", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def null_profile_figure(null_rows: Sequence[Mapping[str, float]], trained: Mapping[str, float], trained_label: str,
                        n_consensus: int, indicator: str, paper: bool = False) -> Figure:
    """The indicator's fire rate at each consensus level ``0..n_consensus`` for each random-weight seed
    (``null_rows``, keys ``seed`` and ``exc_at_{c}_consensus``) and the model under study (``trained``), with
    the paper's trained and random profiles when ``paper``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.analysis.controls import PAPER_NULL_PROFILE

    levels = list(range(n_consensus + 1))
    prof = [{"model": f"random seed {r['seed']}", "level": c, "rate": r[f"exc_at_{c}_consensus"]}
            for r in null_rows for c in levels]
    prof += [{"model": trained_label, "level": c, "rate": trained[f"exc_at_{c}_consensus"]} for c in levels]
    fig, ax = plt.subplots(figsize=(WIDTH, 5))
    sns.lineplot(data=pd.DataFrame(prof), x="level", y="rate", hue="model", marker="o", ax=ax)
    if paper:
        for name, style in (("trained", "k--"), ("random", "k:")):
            values = PAPER_NULL_PROFILE[name]
            ax.plot(range(len(values)), values, style, lw=1, label=f"paper {name} (GPT-2)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=9, frameon=False)
    ax.set(xlabel=f"consensus level (|GELU| > 0.1, of {n_consensus})", ylabel=f"{indicator} fire rate (|GELU| > 0.1)",
           title=f"{indicator}'s fire rate at each consensus level: random weights vs the model")
    ax.title.set_fontsize(10)
    fig.tight_layout()
    return fig


def sweep_figure(sweep_frame: pd.DataFrame, columns: Sequence[str], paper: pd.DataFrame | None = None) -> Figure:
    """The routing statistics ``columns`` of ``sweep_frame`` (indexed by threshold) at each firing threshold,
    log-scaled, with two of the paper's curves (``paper``, same index and columns) when given."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    long = sweep_frame[list(columns)].reset_index().melt(id_vars="threshold", var_name="statistic",
                                                          value_name="value")
    fig, ax = plt.subplots(figsize=(WIDTH, 4))
    sns.lineplot(data=long, x="threshold", y="value", hue="statistic", marker="o", ax=ax)
    if paper is not None:
        for column, style in (("exception_fire_rate", "k--"), ("core_jaccard_mean", "k:")):
            ax.plot(paper.index, paper[column], style, lw=1, label=f"paper: {column} (GPT-2)")
    ax.set(xscale="log", xlabel="θ (|GELU| > θ)", title="The routing statistics at each firing threshold θ")
    ax.title.set_fontsize(10)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8.5, frameon=False)
    fig.tight_layout()
    return fig
