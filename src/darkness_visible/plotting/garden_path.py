"""Chapter 05's figures: paired garden-path and control measurements, one panel per definition of the
disambiguating token; the reduced relatives; the power curve of a paired t-test.

Drawing only: the numbers come from :mod:`darkness_visible.analysis.garden_path`; every figure is drawn at
the book's content width.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from darkness_visible.analysis.garden_path import CONDITIONS, DEFINITIONS
from darkness_visible.plotting import WIDTH
from darkness_visible.report.garden_path import DEFINITION_LABELS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Each definition of the disambiguating token, as a panel title.
SHORT_DEFINITIONS: dict[str, str] = {"faithful": "listed word\n(original finder)", "paper": "listed word\n(by offsets)",
                                     "main_verb": "main verb\n(by offsets)"}
#: The NP/Z conditions' tick labels.
NPZ_TICKS: tuple[str, str] = ("intrans.\n(garden)", "trans.\n(control)")
#: The reduced relatives' tick labels.
RR_TICKS: tuple[str, str] = ("ambiguous\n(raced)", "control\n(ridden)")


def plot_paired(table: pd.DataFrame, metric: str, definition: str, ax: Axes, title: str = "",
                condition_names: Sequence[str] = CONDITIONS, legend: bool = True) -> Axes:
    """Lines per pair from garden to control for one metric and definition (seaborn); the dashed line
    joins the medians. ``condition_names`` label the two ticks (e.g. intransitive / transitive)."""
    import seaborn as sns

    sub = table[table.definition == definition].copy()
    sub["condition"] = pd.Categorical(sub.condition, categories=list(CONDITIONS), ordered=True)
    sub = sub.sort_values(["pair", "condition"])
    higher = sub.groupby("pair", sort=False, observed=True)[metric].agg(lambda v: v.iloc[-1] > v.iloc[0])
    sub["direction"] = sub.pair.map(higher).map({True: "control higher", False: "garden higher or equal"})
    sub["x"] = sub.condition.cat.codes.astype(float)
    sns.lineplot(data=sub, x="x", y=metric, units="pair", estimator=None, hue="direction",
                 hue_order=["control higher", "garden higher or equal"], marker="o", alpha=0.7, ax=ax)
    medians = sub.groupby("x", observed=True)[metric].median()
    ax.plot(medians.index, medians.to_numpy(), "k--D", lw=2, label="median")
    ax.set_xticks(range(len(CONDITIONS)), list(condition_names))
    ax.set_xlim(-0.3, len(CONDITIONS) - 0.7)
    if legend:
        ax.legend(fontsize="x-small", framealpha=0.6)
    elif ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.set(title=title or DEFINITION_LABELS[definition], xlabel="", ylabel=metric)
    return ax


def _shared_legend(fig: Figure, axes) -> None:
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)


def definitions_figure(table: pd.DataFrame, metric: str, ylabel: str, title: str) -> Figure:
    """One panel per definition of the disambiguating token (:data:`DEFINITIONS`), each pair's ``metric``
    from the garden path to its control (:func:`plot_paired`), sharing the y axis."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(DEFINITIONS), figsize=(WIDTH, 4.2), sharey=True)
    for ax, d in zip(np.atleast_1d(axes), DEFINITIONS, strict=True):
        plot_paired(table, metric, d, ax, SHORT_DEFINITIONS.get(d, d), NPZ_TICKS, legend=False)
        ax.title.set_fontsize(10)
        ax.set_ylabel("")
    axes[0].set_ylabel(ylabel)
    _shared_legend(fig, axes)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def reduced_relative_figure(table: pd.DataFrame, indicator: str | None, n_pairs: int) -> Figure:
    """Surprisal at the main verb, and the indicator's activation there (when there is an indicator), for the
    reduced-relative pairs (``table`` as :func:`~darkness_visible.analysis.garden_path.disambiguation_table`)."""
    import matplotlib.pyplot as plt

    panels = [("surprisal", "surprisal at the main verb (bits)")]
    if indicator is not None:
        panels.append(("n2123", f"|a_{indicator}| at the main verb"))
    fig, axes = plt.subplots(1, len(panels), figsize=(WIDTH, 4.2), squeeze=False)
    axes = axes[0]
    for ax, (metric, title) in zip(axes, panels, strict=True):
        plot_paired(table, metric, "main_verb", ax, title, RR_TICKS, legend=False)
        ax.title.set_fontsize(10)
        ax.set_ylabel("")
    _shared_legend(fig, axes)
    fig.suptitle(f"Reduced relatives: is the main verb more surprising after an ambiguous verb? ({n_pairs} pairs)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def power_figure(curve: pd.DataFrame, min_d: float, n_pairs: int) -> Figure:
    """Power of a two-sided paired t-test (α = .05) against the effect size d_z for each number of pairs
    (``curve``: columns ``n, d, power``), with 80 % power and the smallest d_z detectable at ``n_pairs``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(WIDTH, 4))
    sns.lineplot(data=curve.assign(n=curve["n"].astype(str)), x="d", y="power", hue="n", palette="colorblind", ax=ax)
    ax.axhline(0.8, color="k", lw=1, ls="--", label="80 % power")
    ax.axvline(min_d, color="C3", lw=1.5, ls=":", label=f"smallest d_z at n = {n_pairs} ({min_d:.2f})")
    ax.set(xlabel="paired effect size d_z", ylabel="power (α = .05, two-sided)",
           title="How large must an effect be for n pairs to detect it? (paired t-test)")
    ax.title.set_fontsize(10)
    ax.legend(title="pairs n / reference", loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, frameon=False)
    fig.tight_layout()
    return fig
