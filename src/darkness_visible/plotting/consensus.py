"""Chapter 03's figures: the crossover with its bootstrap intervals, the consensus levels, the output cosines,
Figure 1 redrawn and the within-sequence autocorrelation. Drawing only: the numbers come from
:mod:`darkness_visible.analysis.consensus`.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from darkness_visible.analysis.consensus import (
    PAPER_FIGURE1_DELTA,
    CrossoverResult,
    crossover_point,
    paper_table,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_crossover(results: list[CrossoverResult], label: str) -> Figure:
    """Mean ΔP per level with each procedure's 95 % CI side by side, and each crossover point with its CI."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    frames = []
    for r in results:
        t = r.table[r.table["n"] > 0].copy()
        t["procedure"] = f"{r.procedure.name}: {r.procedure.label}"
        frames.append(t)
    data = pd.concat(frames, ignore_index=True)
    from darkness_visible.plotting import WIDTH, finish

    fig, ax = plt.subplots(figsize=(WIDTH, 5.0), dpi=100)
    names = list(dict.fromkeys(data["procedure"]))
    palette = dict(zip(names, sns.color_palette("colorblind", len(names)), strict=True))
    offsets = np.linspace(-0.15, 0.15, len(names))
    for off, name in zip(offsets, names, strict=True):
        t = data[data["procedure"] == name]
        x = t["level"].to_numpy() + off
        ax.errorbar(x, t["mean"], yerr=[t["mean"] - t["lo"], t["hi"] - t["mean"]], fmt="none",
                    ecolor=palette[name], capsize=3, lw=1.5)
    sns.scatterplot(data=data.assign(x=data["level"] + data["procedure"].map(dict(zip(names, offsets, strict=True)))),
                    x="x", y="mean", hue="procedure", palette=palette, ax=ax, s=40, zorder=3)
    ax.axhline(0, color="k", lw=0.8)
    for r, name in zip(results, names, strict=True):
        if np.isfinite(r.point):
            ax.axvline(r.point, color=palette[name], ls="--", lw=1, label=f"{r.procedure.name}: crossover point")
            if np.isfinite(r.point_ci[0]):
                ax.axvspan(r.point_ci[0], r.point_ci[1], color=palette[name], alpha=0.12,
                           label=f"{r.procedure.name}: 95 % CI of the crossover point")
    ax.set(xticks=range(len(results[0].table)))
    return finish(ax, xlabel="consensus level (of 7 neurons firing, |GELU| > 0.1)",
                  ylabel="mean ΔP = P_full − P_noMLP\n(points: mean; bars: 95 % CI)",
                  title="Does the last MLP help (ΔP > 0) or hurt, by consensus level?", label=label,
                  legend_ncol=1, legend_y=-0.16)


def plot_level_counts(counts: pd.DataFrame, label: str, paper: bool = True) -> Figure:
    """Token count per consensus level (bars), with the paper's Table 2 counts as markers."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.plotting import WIDTH, finish

    fig, ax = plt.subplots(figsize=(WIDTH, 3.8), dpi=100)
    sns.barplot(data=counts, x="level", y="n", color=sns.color_palette("colorblind")[0], ax=ax, label="this run")
    if paper:
        ref = paper_table()
        scale = counts["n"].sum() / ref["n"].sum()
        sns.scatterplot(x=ref["level"], y=ref["n"] * scale, color="k", marker="D", ax=ax, zorder=3,
                        label=f"paper Table 2 × {scale:.3g} (scaled to this run's total)")
    return finish(ax, xlabel="consensus level (how many of the 7 consensus neurons fire)", ylabel="tokens",
                  title="How many tokens sit at each consensus level", label=label)


def plot_cosines(cos: pd.DataFrame, label: str, paper: pd.DataFrame | None = None) -> Figure:
    """Heatmap of the output-direction cosines (this run; and the paper's, if given)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    panels = [("this run", cos)] + ([("paper (seven_dimensions.md)", paper)] if paper is not None else [])
    from darkness_visible.plotting import WIDTH

    fig, axes = plt.subplots(1, len(panels), figsize=(WIDTH, 4.2), dpi=100, squeeze=False)
    for ax, (name, frame) in zip(axes[0], panels, strict=True):
        sns.heatmap(frame, vmin=-1, vmax=1, cmap="vlag", annot=True, fmt=".2f", square=True, cbar=False, ax=ax,
                    annot_kws={"size": 9})
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=9)
    fig.suptitle(f"Cosines of the consensus neurons' output vectors (−1 blue, +1 red)\n{textwrap.fill(label, 80)}",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_figure1(result: CrossoverResult, lens_delta: np.ndarray, label: str) -> Figure:
    """Figure 1 redrawn from computed values, next to what the published figure plots.

    Left: this run's mean ΔP per level (MLP zero-ablation, the table's quantity) with its CI and
    crossover. Right: the same with the block-10 lens baseline (the older series' quantity), with the
    paper's published bars (Figure 1) and Table 2 means as reference markers.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    t = result.table
    from darkness_visible.plotting import WIDTH

    up, down = sns.color_palette("colorblind")[0], sns.color_palette("colorblind")[3]
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 8.0), dpi=100, sharey=False)
    colors = [up if m > 0 else down for m in t["mean"].fillna(0)]
    sns.barplot(x=t["level"], y=t["mean"], hue=t["level"], palette=colors, legend=False, ax=axes[0])
    axes[0].errorbar(t["level"], t["mean"], yerr=[t["mean"] - t["lo"], t["hi"] - t["mean"]], fmt="none",
                     ecolor="k", capsize=3)
    ref = paper_table()
    sns.scatterplot(x=ref["level"], y=ref["mean"], marker="D", color="k", ax=axes[0], label="paper Table 2", zorder=3)
    if np.isfinite(result.point):
        axes[0].axvline(result.point, color="k", ls="--", lw=1, label="crossover (interpolated)")
        axes[0].text(result.point, axes[0].get_ylim()[1] * 0.9, f" crossover {result.point:.2f}", fontsize=9)
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].set(xlabel="consensus level", ylabel="mean ΔP\n(no L11 MLP baseline)")
    axes[0].set_title(f"The table's quantity: ΔP against the MLP ablation (bars: this run, {result.procedure.name} "
                      "95 % CI)", fontsize=10)
    lens = np.asarray(lens_delta, dtype=np.float64)
    colors = [up if m > 0 else down for m in np.nan_to_num(lens)]
    sns.barplot(x=np.arange(len(lens)), y=lens, hue=np.arange(len(lens)), palette=colors, legend=False, ax=axes[1])
    sns.scatterplot(x=np.arange(len(PAPER_FIGURE1_DELTA)), y=PAPER_FIGURE1_DELTA, marker="o", color="k", ax=axes[1],
                    label="published Figure 1 bars", zorder=3)
    sns.scatterplot(x=ref["level"], y=ref["mean"], marker="D", color="0.5", ax=axes[1], label="paper Table 2", zorder=3)
    lens_point = crossover_point(lens)
    if np.isfinite(lens_point):
        axes[1].axvline(lens_point, color="k", ls="--", lw=1, label="crossover (interpolated)")
        axes[1].text(lens_point, axes[1].get_ylim()[1] * 0.9, f" crossover {lens_point:.2f}", fontsize=9)
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].set(xlabel="consensus level", ylabel="mean ΔP\n(block-10 lens baseline)")
    axes[1].set_title("Figure 1's likely quantity: ΔP against the lens at block 10 (bars: this run)", fontsize=10)
    from matplotlib.patches import Patch

    for ax in axes:
        ax.tick_params(labelsize=9)
        handles, labels = ax.get_legend_handles_labels()
        handles += [Patch(color=up), Patch(color=down)]
        labels += ["bar: mean ΔP > 0 (the MLP helps)", "bar: mean ΔP ≤ 0 (the MLP hurts)"]
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=9, ncol=2, frameon=False)
    fig.suptitle(textwrap.fill(label, 80), fontsize=9)
    fig.tight_layout()
    return fig


def plot_acf(acf: pd.DataFrame, n_tokens: int, label: str) -> Figure:
    """Bars of the within-window autocorrelation per lag (``bootstrap.within_sequence_acf``), with the band
    ``±2 / sqrt(n_tokens)`` that independent noise would stay inside."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.plotting import WIDTH, finish

    bound = 2 / np.sqrt(max(n_tokens, 1))
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6), dpi=100)
    sns.barplot(data=acf, x="lag", y="acf", color=sns.color_palette("colorblind")[0], ax=ax, label="this run")
    ax.axhspan(-bound, bound, color="0.6", alpha=0.3, label="±2 standard errors of independent noise")
    ax.axhline(0, color="k", lw=0.8)
    return finish(ax, xlabel="lag (tokens)", ylabel="mean autocorrelation\nover windows",
                  title="Autocorrelation of ΔP within windows (level means removed)", label=label)
