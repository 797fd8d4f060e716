"""Chapter 04's figures: the routing and consensus neurons among each prompt's top-20 IG neurons, the
knockouts with the package's bootstrap interval, and the rank of each fact's target after accumulating all
of a layer's neuron output vectors.

Drawing only: the numbers come from :mod:`darkness_visible.analysis.knowledge`; every figure is drawn at the
book's content width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from darkness_visible.plotting import WIDTH

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The four knockout conditions of the paper, in the order drawn.
KNOCKOUT_CONDITIONS: tuple[str, ...] = ("top-20", "consensus", "routing", "all heads")


def overlap_figure(overlap: pd.DataFrame, chance: float, paper_mean: float | None = None) -> Figure:
    """How many of each prompt's top-20 IG neurons are routing or consensus neurons (``overlap``: columns
    ``prompt, routing, consensus``), with uniform chance and, when given, the paper's mean (GPT-2)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    long = overlap.melt(id_vars=["prompt"], value_vars=["routing", "consensus"], var_name="set",
                        value_name="neurons in top-20")
    fig, ax = plt.subplots(figsize=(WIDTH, 6.5))
    sns.barplot(data=long, y="prompt", x="neurons in top-20", hue="set", ax=ax)
    ax.axvline(chance, color="k", ls="--", lw=1, label=f"uniform chance, routing ({chance:.3f})")
    if paper_mean is not None:
        ax.axvline(paper_mean, color="crimson", ls=":", lw=1.5, label=f"paper's mean, routing ({paper_mean}, GPT-2)")
    ax.set(title="How many of each prompt's top-20 IG neurons are routing or consensus neurons?", ylabel="")
    ax.title.set_fontsize(10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.35, -0.08), ncol=2, fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def knockout_figure(knock: pd.DataFrame, summary: pd.DataFrame, layer: int,
                    paper: Mapping[str, float] | None = None) -> Figure:
    """Each prompt's change in the target's probability per knockout (``knock``, columns ``Δ <condition>``),
    with the mean and the 95 % bootstrap CI over prompts exactly as
    :func:`~darkness_visible.analysis.knowledge.knockout_summary` computed them (``summary``), and the paper's
    means when given."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.lines import Line2D

    conditions = [c for c in KNOCKOUT_CONDITIONS if f"Δ {c}" in knock]
    per_prompt = knock.melt(id_vars=["prompt"], value_vars=[f"Δ {c}" for c in conditions], var_name="condition",
                            value_name="Δp")
    per_prompt["condition"] = per_prompt["condition"].str[2:]
    per_prompt["Δp (pp)"] = 100 * per_prompt["Δp"]
    ci = summary.set_index("condition").loc[conditions]
    x = np.arange(len(conditions))
    mean = 100 * ci["mean Δp"].to_numpy(dtype=np.float64)
    err = np.vstack([mean - 100 * ci["ci_low"].to_numpy(dtype=np.float64),
                     100 * ci["ci_high"].to_numpy(dtype=np.float64) - mean])
    fig, ax = plt.subplots(figsize=(WIDTH, 4.5))
    sns.stripplot(data=per_prompt, x="condition", y="Δp (pp)", order=conditions, alpha=0.5, ax=ax, color="C0")
    ax.errorbar(x, mean, yerr=err, fmt="D", color="k", capsize=4, zorder=4)
    handles = [Line2D([], [], color="C0", marker="o", ls="none", alpha=0.5, label="one prompt (this run)"),
               Line2D([], [], color="k", marker="D", label="mean, 95 % bootstrap CI over prompts (this run)")]
    if paper is not None:
        ax.scatter(x, [100 * paper[c] for c in conditions], marker="x", color="C3", s=80, zorder=5)
        handles.append(Line2D([], [], color="C3", marker="x", ls="none", label="paper's mean (GPT-2)"))
    ax.axhline(0, color="grey", lw=0.8)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, fontsize=9, frameon=False)
    ax.set(title=f"Change in the target's probability when neurons or heads of layer {layer} are removed",
           xlabel="")
    ax.title.set_fontsize(10)
    fig.tight_layout()
    return fig


def extraction_figure(extraction: pd.DataFrame, d_mlp: int, methods: Sequence[str] = ("static", "context")) -> Figure:
    """Rank of each fact's target after accumulating all ``d_mlp`` neurons' output vectors (``extraction``
    rows with ``final``), per category and method, on a log scale."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    final = extraction[extraction["final"]].copy()
    final["log10 rank"] = np.log10(final["rank"])
    order = list(dict.fromkeys(final["category"]))
    fig, ax = plt.subplots(figsize=(WIDTH, 6.5))
    sns.boxplot(data=final[final["method"].isin(list(methods))], y="category", x="log10 rank", hue="method",
                order=order, ax=ax, fliersize=2)
    ax.axvline(1, color="k", ls="--", lw=1, label="top-10 (rank 10)")
    ax.set(title=f"Rank of the target after accumulating all {d_mlp:,} neurons' output vectors", ylabel="",
           xlabel="log10 rank of the target (lower is better)")
    ax.title.set_fontsize(10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.4, -0.1), ncol=3, fontsize=9, frameon=False)
    fig.tight_layout()
    return fig
