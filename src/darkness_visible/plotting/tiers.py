"""Chapter 02's figures: the indicator's activation histogram, the handler's Jaccard maps, the output directions,
the tiers' contributions, Simpson's paradox and the planted suite. Drawing only: the numbers come from
:mod:`darkness_visible.analysis.tiers`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from darkness_visible.analysis.tiers import ACTIVE_REGIME, EXCEPTION_PATHS, ExceptionPath
from darkness_visible.data.neurons import EXCEPTION_NEURON
from darkness_visible.tracing.firing import FiringRule


def histogram_figure(acts: np.ndarray, label: str, paths: tuple[ExceptionPath, ...] = EXCEPTION_PATHS,
                     active: FiringRule = ACTIVE_REGIME, neuron: int = EXCEPTION_NEURON) -> Any:
    """Histogram of the indicator's post-GELU activation (``acts [N]``) with each definition's cut marked.

    Drawn at the book's content width (7.3 in); every line is in the legend, which sits below the axes.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.plotting import WIDTH, finish

    palette = sns.color_palette("colorblind")
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2), dpi=100)
    sns.histplot(x=np.asarray(acts, dtype=np.float64), bins=120, ax=ax, color="0.45", label="tokens per bin")
    ax.set_yscale("log")
    cuts = [(f"±{active.threshold:g}: {active.description} (active regime)", active.threshold, palette[0], "--")]
    cuts.append(("", -active.threshold, palette[0], "--"))
    for path, colour, ls in zip(paths, (palette[3], palette[2], palette[1]), ("-", "-.", ":"), strict=False):
        cut = path.rule.threshold if path.rule is not None else float(np.quantile(acts, 1 - path.top_fraction))
        cuts.append((f"exception path: {path.name}", cut, colour, ls))
    for name, x, colour, ls in cuts:
        ax.axvline(x, color=colour, ls=ls, lw=1.2, label=name or None)
    return finish(ax, xlabel=f"post-GELU activation of N{neuron}", ylabel="tokens (log scale)",
                  title=f"How often N{neuron} takes each activation, with the firing cuts", label=label,
                  legend_y=-0.2)


def jaccard_figure(frames: dict[str, pd.DataFrame], label: str) -> Any:
    """Heat maps of the Jaccard matrices ``[k, k]``, one per population, stacked so each is drawn full width."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.plotting import WIDTH, wrap

    fig, axes = plt.subplots(len(frames), 1, figsize=(WIDTH, 6.2 * len(frames)), dpi=100)
    for ax, (population, J) in zip(np.atleast_1d(axes), frames.items(), strict=True):
        sns.heatmap(J, vmin=0, vmax=1, cmap="viridis", square=True, ax=ax, xticklabels=True, yticklabels=True,
                    cbar_kws={"shrink": 0.8, "label": "Jaccard (0: never together, 1: always together)"})
        ax.tick_params(labelsize=9)
        ax.set_title(f"Jaccard co-firing of the handler neurons, {population}", fontsize=10)
    fig.suptitle(wrap(label, 80), fontsize=9)
    fig.tight_layout()
    return fig


def direction_figure(scores: dict[str, pd.DataFrame], label: str) -> Any:
    """Heat maps of function-word z-scores (``[neurons, words]`` per reading mode), side by side at full width."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.plotting import WIDTH, wrap

    titles = {"ln_f": "with ln_f's bias (the paper's reading)", "ln_f_no_bias": "without ln_f's bias"}
    fig, axes = plt.subplots(1, len(scores), figsize=(WIDTH, 7.5), dpi=100, sharey=True)
    for i, (ax, (mode, table)) in enumerate(zip(np.atleast_1d(axes), scores.items(), strict=True)):
        sns.heatmap(table, center=0, cmap="RdBu_r", ax=ax, annot=True, fmt=".1f", annot_kws={"size": 9},
                    cbar=i == len(scores) - 1, cbar_kws={"label": "z-scored logit"}, yticklabels=True)
        ax.set_title(titles.get(mode, mode), fontsize=10)
        ax.tick_params(labelsize=9)
    fig.suptitle(f"Where each handler neuron's output pushes five function words\n{wrap(label, 80)}", fontsize=10)
    fig.tight_layout()
    return fig


def contribution_figure(shares: pd.DataFrame, ablation: pd.DataFrame, label: str) -> Any:
    """The tier contribution figure: share of exception-path output norm (top) vs perplexity impact with 95 %
    CIs (bottom); the paper's values as black diamonds where known. Drawn at the book's width, legends below."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.plotting import WIDTH, wrap

    palette = sns.color_palette("colorblind")
    fig, (left, right) = plt.subplots(2, 1, figsize=(WIDTH, 7.0), dpi=100)
    sns.barplot(data=shares, x="tier", y="share_of_norms_pct", ax=left, color=palette[0], label="this run")
    if shares.paper_pct.notna().any():
        left.scatter(np.arange(len(shares)), shares.paper_pct.astype(float), marker="D", color="k", zorder=3,
                     label="paper (GPT-2 Small)")
    left.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    left.set_ylabel("share of summed\ntier norms (%)", fontsize=10)
    left.set_xlabel("")
    left.set_title("How much each tier writes on exception tokens", fontsize=10)
    sns.barplot(data=ablation, x="ablation", y="delta_pct", ax=right, color=palette[3], label="this run")
    x = np.arange(len(ablation))
    err = np.vstack([ablation.delta_pct - ablation.ci_low, ablation.ci_high - ablation.delta_pct])
    right.errorbar(x, ablation.delta_pct, yerr=np.clip(err, 0, None), fmt="none", ecolor="k", capsize=3,
                   label="95 % window-bootstrap CI")
    if ablation.paper_delta_pct.notna().any():
        right.scatter(x, ablation.paper_delta_pct.astype(float), marker="D", color="k", zorder=3,
                      label="paper (GPT-2 Small)")
    right.axhline(0, color="k", lw=0.7)
    right.set_ylabel("perplexity change\nwhen zeroed (%)", fontsize=10)
    right.set_xlabel("")
    right.set_title("How much worse the model predicts without each tier", fontsize=10)
    right.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, frameon=False)
    for ax in (left, right):
        ax.tick_params(labelsize=9)
    fig.suptitle(wrap(label, 80), fontsize=9)
    fig.tight_layout()
    return fig


def simpson_figure(table: pd.DataFrame, label: str) -> Any:
    """Bars of an ablation's perplexity change per consensus level (:func:`simpson_table`, the ``all`` row
    left out), the paper's values as black diamonds where known."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.plotting import WIDTH, finish

    rows = table[table.level != "all"].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8), dpi=100)
    sns.barplot(data=rows, x="level", y="delta_pct", color=sns.color_palette("colorblind")[3], ax=ax,
                label="this run")
    if rows.paper_delta_pct.notna().any():
        ax.scatter(np.arange(len(rows)), rows.paper_delta_pct.astype(float), marker="D", color="k", zorder=3,
                   label="paper (GPT-2 Small)")
    ax.axhline(0, color="k", lw=0.7)
    return finish(ax, xlabel="consensus level at the predicting position (CONS-ABS)",
                  ylabel="perplexity change (%)", title="Core ablation: perplexity change by consensus level",
                  label=label)


def suite_figure(suite: pd.DataFrame, roles: list[str], bar: float = 0.9) -> Any:
    """Precision and recall per planted model (points) for each role, with the pass ``bar`` as a dashed line.

    ``suite``: :func:`darkness_visible.discovery.planted_random.recovery_suite`, with ``<role>_precision`` and
    ``<role>_recall`` columns.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from darkness_visible.discovery.planted_random import DISCOVERY_TOKENS
    from darkness_visible.plotting import WIDTH, finish

    long = pd.concat([pd.DataFrame({"role": role, "statistic": stat, "value": suite[f"{role}_{stat}"]})
                      for role in roles for stat in ("precision", "recall")], ignore_index=True)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8), dpi=100)
    sns.stripplot(data=long, x="role", y="value", hue="statistic", dodge=True, alpha=0.6, jitter=0.2, ax=ax,
                  palette="colorblind")
    ax.axhline(bar, color="grey", lw=1, ls="--", label=f"pass bar ({bar:g})")
    ax.set(ylim=(-0.05, 1.05))
    return finish(ax, xlabel="", ylabel="per planted model", legend_ncol=3, legend_y=-0.12,
                  title=f"How well the discovery recovers each role: {len(suite)} planted models, "
                        f"{DISCOVERY_TOKENS:,} tokens each")
